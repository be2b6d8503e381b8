"""`ops queues` and `ensure-redis`: the queues as the ops view sees them, and a local Redis."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.common import Commands, command, group
from cli.tables import aligned
from config.settings import Settings


def register(commands: Commands) -> None:
    ops = group(commands, "ops", "operations")
    command(ops, "queues", run_queues, "the queue figures as a table")
    command(
        commands, "ensure-redis", run_ensure_redis, "start a local Redis under var/ if none answers"
    )


def run_queues(args: argparse.Namespace, settings: Settings) -> int:
    from queues.connection import connect_redis
    from services.stats.queues import queue_overview

    async def go() -> list[dict[str, Any]]:
        client = connect_redis(settings.redis_target, socket_timeout=5)
        try:
            return await queue_overview(client)
        finally:
            await client.aclose()

    print(format_queue_table(asyncio.run(go())))
    return 0


QUEUE_COUNTS = ("积压", "处理中", "未投递", "最久待确认", "重试中", "死信")
QUEUE_HEADER = ("队列", *QUEUE_COUNTS, "1分钟 成功/失败/重试", "1小时 成功/失败/重试", "消费者")


def format_queue_table(streams: list[dict[str, Any]]) -> str:
    """The /ops figures as a terminal table, for a server without a browser."""
    return aligned([QUEUE_HEADER, *(queue_row(s) for s in streams)])


def queue_row(s: dict[str, Any]) -> tuple[str, ...]:
    from handlers.ops import format_age

    m, h = s["last_minute"], s["last_hour"]
    lag = "-" if s["lag"] is None else str(s["lag"])
    oldest = format_age(s["oldest_pending_age_s"])
    counts = (str(s["depth"]), str(s["pending"]), lag, oldest, str(s["scheduled_retries"]))
    minute = f"{m['processed']}/{m['failed']}/{m['retried']}"
    hour = f"{h['processed']}/{h['failed']}/{h['retried']}"
    return (s["stream"], *counts, str(s["dead"]), minute, hour, str(len(s["consumers"])))


def run_ensure_redis(args: argparse.Namespace, settings: Settings) -> int:
    from infra.redis_local import ensure_redis

    how = ensure_redis(settings.redis_url)
    print(
        f"Redis {'已在运行' if how == 'external' else '已在 var/redis 启动'}：{settings.redis_url}"
    )
    return 0
