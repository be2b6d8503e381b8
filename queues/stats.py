"""What ops needs to see about a stream: counters over the last minute and hour, and its state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from queues.config import COUNTER_TTL_S, DEFAULT_GROUP, StreamKeys
from queues.envelope import text

EVENTS = ("processed", "failed", "retried", "dead")


def count_event(pipe: Pipeline, stream: str, event: str, n: int = 1) -> None:
    """Queue a counter increment on a pipeline, in the bucket of the current minute."""
    bucket = StreamKeys(stream).counters(int(time.time() // 60))
    pipe.hincrby(bucket, event, n)
    pipe.expire(bucket, COUNTER_TTL_S)


@dataclass(frozen=True)
class Counters:
    processed: int = 0  # handled successfully
    failed: int = 0  # handler raised (every failed try, whether retried or buried)
    retried: int = 0  # scheduled for another try
    dead: int = 0  # moved to the dead-letter stream


async def counters(
    redis: Redis, stream: str, minutes: int = 1, now: float | None = None
) -> Counters:
    """Events of the last `minutes`, as a sliding window over per-minute buckets.

    The current bucket counts in full and the oldest one in proportion to the part of it still
    inside the window (the usual sliding-window estimate), so the figure moves smoothly.
    """
    now = time.time() if now is None else now
    current = int(now // 60)
    keys = StreamKeys(stream)
    pipe = redis.pipeline(transaction=False)
    for minute in range(current - minutes, current + 1):
        pipe.hgetall(keys.counters(minute))
    buckets = await pipe.execute()
    weights = [1.0 - (now % 60) / 60] + [1.0] * minutes
    totals = dict.fromkeys(EVENTS, 0.0)
    for weight, bucket in zip(weights, buckets, strict=True):
        for name, value in bucket.items():
            if text(name) in totals:
                totals[text(name)] += weight * int(value)
    return Counters(**{name: round(value) for name, value in totals.items()})


@dataclass(frozen=True)
class ConsumerInfo:
    name: str
    pending: int
    idle_s: float  # since its last read or claim


@dataclass(frozen=True)
class StreamStats:
    stream: str
    group: str
    depth: int  # XLEN: unhandled plus in-progress entries (handled ones are deleted)
    pending: int  # delivered to a consumer and not yet acked
    lag: int | None  # entries never delivered to the group; None when Redis cannot tell
    oldest_pending_age_s: float | None  # since the oldest pending entry was added
    consumers: list[ConsumerInfo] = field(default_factory=list)
    dead: int = 0
    scheduled_retries: int = 0  # waiting in `<stream>:delayed` for their time
    parked_keys: int = 0  # ordering keys whose next job waits for an earlier one
    last_minute: Counters = field(default_factory=Counters)
    last_hour: Counters = field(default_factory=Counters)


async def stream_stats(
    redis: Redis, stream: str, group: str = DEFAULT_GROUP, now: float | None = None
) -> StreamStats:
    """Everything the /ops page shows for one stream; a stream that does not exist is empty."""
    now = time.time() if now is None else now
    keys = StreamKeys(stream)
    pipe = redis.pipeline(transaction=False)
    pipe.xlen(stream)
    pipe.xlen(keys.dead)
    pipe.zcard(keys.delayed)
    pipe.zcard(keys.parked_index)
    depth, dead, delayed, parked = await pipe.execute()
    group_info, pending, consumers = await _group_state(redis, stream, group)
    oldest = pending.get("min") if pending else None
    return StreamStats(
        stream=stream,
        group=group,
        depth=depth,
        pending=pending.get("pending", 0) if pending else 0,
        lag=group_info.get("lag") if group_info else None,
        oldest_pending_age_s=max(0.0, now - entry_time(text(oldest))) if oldest else None,
        consumers=consumers,
        dead=dead,
        scheduled_retries=delayed,
        parked_keys=parked,
        last_minute=await counters(redis, stream, 1, now),
        last_hour=await counters(redis, stream, 60, now),
    )


async def _group_state(
    redis: Redis, stream: str, group: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[ConsumerInfo]]:
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream
        return None, None, []
    info = next((g for g in groups if text(g["name"]) == group), None)
    if info is None:
        return None, None, []
    pending = await redis.xpending(stream, group)
    raw = await redis.xinfo_consumers(stream, group)
    consumers = [
        ConsumerInfo(name=text(c["name"]), pending=c["pending"], idle_s=c["idle"] / 1000)
        for c in raw
    ]
    return info, pending, consumers


def entry_time(entry_id: str) -> float:
    """When an entry was added, from its id (milliseconds-sequence), in seconds."""
    return int(entry_id.split("-")[0]) / 1000
