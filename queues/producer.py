"""Putting jobs on a stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from queues.config import DEFAULT_MAXLEN, KEY_STATE_TTL_S, StreamKeys
from queues.connection import REPLICA_WAIT_MS, replicas_to_wait
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
    replicas = replicas_to_wait(redis)
    # WAIT counts the writes of its own connection: with a replica to wait for, the write and
    # the WAIT go down one connection together.
    client: Any = redis.pipeline(transaction=False) if replicas else redis
    if key is None:
        pairs = dict(zip(fields[::2], fields[1::2], strict=True))
        added = await client.xadd(stream, pairs, maxlen=maxlen, approximate=True)
    else:
        keys = [stream, StreamKeys(stream).key_state(key)]
        added = await ENQUEUE_KEYED(keys, [maxlen, KEY_STATE_TTL_S, *fields], client=client)
    if replicas:
        client.execute_command("WAIT", replicas, REPLICA_WAIT_MS)
        added, _ = await client.execute()
    return text(added)
