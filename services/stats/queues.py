"""What ops see and do about the message queues: figures per stream, and dead letters."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis

from queues.dead import count_dead, drop_dead, list_dead, requeue_all_dead, requeue_dead
from queues.stats import stream_stats
from services.audit import append_audit
from services.errors import InvalidRequest, NotFound
from services.jobs import STREAM_LABELS, STREAMS
from services.masking import mask_personal, mask_text

MAX_DEAD_LIMIT = 500
# A Redis stream entry id: milliseconds, a dash, a sequence number.
_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


def _known(stream: str) -> str:
    if stream not in STREAMS:
        raise InvalidRequest("未知的队列", code="unknown_stream", stream=stream)
    return stream


def _entry(entry_id: str) -> str:
    if not _ENTRY_ID.fullmatch(entry_id):
        raise InvalidRequest("死信编号格式有误", code="invalid_entry_id")
    return entry_id


def dead_limit(raw: str) -> int:
    """The `limit` query parameter of the dead-letter list: 1 to 500, 50 when absent."""
    if raw == "":
        return 50
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_DEAD_LIMIT:
        raise InvalidRequest(f"limit 应为 1 至 {MAX_DEAD_LIMIT} 的整数", code="invalid_limit")
    return int(raw)


async def queue_overview(redis: Redis) -> list[dict[str, Any]]:
    """Per stream: depth, pending, lag, oldest pending age, consumers, dead letters, counters."""
    overview = []
    for stream in STREAMS:
        stats = asdict(await stream_stats(redis, stream))
        stats["label"] = STREAM_LABELS[stream]
        overview.append(stats)
    return overview


async def dead_letters(redis: Redis, stream: str, limit: int = 50) -> dict[str, Any]:
    """The newest dead letters of a stream, personal data masked."""
    letters = await list_dead(redis, _known(stream), count=limit)
    return {
        "stream": stream,
        "total": await count_dead(redis, stream),
        "items": [
            {
                "entry_id": d.entry_id,
                "job_id": d.job_id,
                "job": d.job,
                "payload": mask_personal(d.payload),
                "key": mask_personal(d.key, "openid") if d.key else None,
                "attempts": d.attempts,
                "error": mask_text(d.error),
                "traceback": mask_text(d.traceback),
                "failed_at": d.failed_at,
            }
            for d in letters
        ],
    }


async def requeue_dead_letter(redis: Redis, actor: str, stream: str, entry_id: str) -> str:
    """Put one dead letter back on its stream; audited."""
    new_id = await requeue_dead(redis, _known(stream), _entry(entry_id))
    if new_id is None:
        raise NotFound("该死信不存在，可能已被重新入队或删除", code="dead_letter_not_found")
    await append_audit(actor, "queue.dead.requeued", "dead_letter", f"{stream}/{entry_id}",
                       {"new_entry_id": new_id})  # fmt: skip
    return new_id


async def requeue_all_dead_letters(redis: Redis, actor: str, stream: str) -> int:
    """Put every dead letter of a stream back; audited."""
    moved = await requeue_all_dead(redis, _known(stream))
    await append_audit(actor, "queue.dead.requeued_all", "stream", stream, {"count": moved})
    return moved


async def drop_dead_letter(redis: Redis, actor: str, stream: str, entry_id: str) -> None:
    """Delete one dead letter for good; audited."""
    if not await drop_dead(redis, _known(stream), _entry(entry_id)):
        raise NotFound("该死信不存在，可能已被重新入队或删除", code="dead_letter_not_found")
    await append_audit(actor, "queue.dead.dropped", "dead_letter", f"{stream}/{entry_id}")
