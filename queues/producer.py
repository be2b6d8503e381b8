"""Putting jobs on a stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from queues.config import DEFAULT_MAXLEN, KEY_STATE_TTL_S, StreamKeys
from queues.envelope import first_fields, text
from queues.scripts import ENQUEUE_KEYED


async def enqueue(
    redis: Redis,
    stream: str,
    job: str,
    payload: Mapping[str, Any],
    *,
    key: str | None = None,
    maxlen: int = DEFAULT_MAXLEN,
) -> str:
    """Add a job; return its entry id, which is also the job's id for its whole life.

    Jobs with the same `key` run one at a time, in the order they were enqueued.
    """
    fields = first_fields(job, payload, key)
    if key is None:
        pairs = dict(zip(fields[::2], fields[1::2], strict=True))
        return text(await redis.xadd(stream, pairs, maxlen=maxlen, approximate=True))
    keys = [stream, StreamKeys(stream).key_state(key)]
    return text(await ENQUEUE_KEYED(keys, [maxlen, KEY_STATE_TTL_S, *fields], client=redis))
