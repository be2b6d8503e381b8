"""The application's streams and job handlers: one table declares each stream (its name, its
label for ops, the job it carries and how that job's handler is made), and build_registry
registers them on the one Registry that workers are given.

Delivery is at least once, so every handler here is idempotent (keyed on ctx.job_id or on a
natural key of its payload).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from redis.asyncio import Redis

from config.settings import Settings
from queues.producer import enqueue
from queues.registry import Handler, JobContext, Registry
from services.accounts import bindings
from services.audit import append_audit
from services.ingest.quality import data_as_of_all
from services.objections.events import NOTIFY_JOB, NOTIFY_STREAM
from services.reports.issuing import RENDER_JOB, RENDER_STREAM, render_job
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner
from services.wechat.inbound import inbound_job
from services.wechat.messages import BotEngine
from services.wechat.notifier import notify_job
from services.wechat.outbound import (
    OUTBOUND_JOB,
    OUTBOUND_STREAM,
    announce_bot_card,
    announce_bot_reports,
    outbound_job,
)
from services.wechat.webhook import INBOUND_JOB, INBOUND_STREAM

CANARY_JOB = "ops.canary"
CANARY_TTL_S = 24 * 3600


def canary_key(stream: str) -> str:
    return f"ops:canary:{stream}"


async def handle_canary(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Answer an ops probe: record the round trip once per job id (a second run changes nothing)."""
    handled_at = time.time()
    result = {
        "job_id": ctx.job_id,
        "sent_at": payload["sent_at"],
        "handled_at": handled_at,
        "latency_ms": round((handled_at - payload["sent_at"]) * 1000, 1),
    }
    # Entry ids are per stream: two streams can hand out the same one.
    done_key = f"ops:canary:done:{ctx.stream}:{ctx.job_id}"
    if await ctx.redis.set(done_key, "1", nx=True, ex=CANARY_TTL_S):
        await ctx.redis.set(canary_key(ctx.stream), json.dumps(result), ex=CANARY_TTL_S)


async def send_canaries(redis: Redis, actor: str) -> dict[str, str]:
    """Put one probe job on every stream (audited); the ops page shows when each came back."""
    sent = {
        stream: await enqueue(redis, stream, CANARY_JOB, {"sent_at": time.time()})
        for stream in STREAMS
    }
    await append_audit(actor, "queue.canary.sent", "stream", "*", sent)
    return sent


async def last_canaries(redis: Redis) -> dict[str, dict[str, Any] | None]:
    values = await redis.mget([canary_key(s) for s in STREAMS])
    return {s: json.loads(v) if v else None for s, v in zip(STREAMS, values, strict=True)}


# "Data as of" is a date and changes only with pushes, while computing it reads the last push
# of every department: one figure per minute serves every report rendered in that minute.
DATA_AS_OF_TTL_S = 60.0
_data_as_of_cache: dict[str, tuple[float, dict[int, date | None]]] = {}


async def data_as_of_for_report(domains: Sequence[int]) -> Mapping[int, date | None]:
    """Each domain's 'data as of' date, from the ingestion freshness figures (cached 60 s)."""
    cached = _data_as_of_cache.get("all")
    if cached is None or time.monotonic() - cached[0] > DATA_AS_OF_TTL_S:
        cached = (time.monotonic(), await data_as_of_all())
        _data_as_of_cache["all"] = cached
    return cached[1]


@dataclass(frozen=True)
class Stream:
    """One message queue: the Redis stream, its name for ops, the job it carries, and how a
    worker makes that job's handler from the settings and the conversation engine."""

    name: str
    label: str
    job: str
    handler: Callable[[Settings, BotEngine], Handler]


def _render_handler(settings: Settings, bot_engine: BotEngine) -> Handler:
    render = render_job(
        signer=SnapshotSigner(settings.report_signing_key),
        data_as_of=data_as_of_for_report,
        renderer=make_renderer(settings.pki_dir, settings.public_base_url, settings.tsa_url),
        on_card=announce_bot_card,
    )
    # A report asked for in the bot: its card goes to its user as soon as it is stored (above),
    # its links once the sealed PDF is.
    return announce_bot_reports(render)


STREAM_TABLE: tuple[Stream, ...] = (
    Stream(INBOUND_STREAM, "公众号消息接收", INBOUND_JOB, lambda _, engine: inbound_job(engine)),
    Stream(OUTBOUND_STREAM, "微信消息发送", OUTBOUND_JOB, lambda _, __: outbound_job()),
    Stream(RENDER_STREAM, "报告生成", RENDER_JOB, _render_handler),
    Stream(NOTIFY_STREAM, "异议通知", NOTIFY_JOB, lambda _, __: notify_job()),
)
STREAMS: tuple[str, ...] = tuple(stream.name for stream in STREAM_TABLE)
STREAM_LABELS: Mapping[str, str] = MappingProxyType({s.name: s.label for s in STREAM_TABLE})


def build_registry(settings: Settings, *, bot_engine: BotEngine) -> Registry:
    """Every job YuCredit's workers know; `bot_engine` answers wx.inbound (bot.engine.handle,
    passed in by whoever composes the worker)."""
    bindings.configure(settings)  # the bot binds enterprises in workers: it needs the keys
    registry = Registry()
    registry.add(CANARY_JOB, handle_canary)  # ops probes travel on every stream
    for stream in STREAM_TABLE:
        registry.add(stream.job, stream.handler(settings, bot_engine))
    return registry
