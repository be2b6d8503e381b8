"""A delivered job's ways out: run or park (ordering), done, retry later, or dead letter.

Each is one atomic script (see queues/scripts.py) plus a counter in the same round trip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from queues.config import KEY_STATE_TTL_S, StreamConfig, StreamKeys
from queues.envelope import Envelope, text
from queues.scripts import BURY, FINISH_KEYED, GATE, MOVE_DUE, RELEASE_STALLED, RETRY_LATER
from queues.stats import count_event


@dataclass(frozen=True)
class Delivered:
    """One entry as this worker received it."""

    config: StreamConfig
    entry_id: str
    envelope: Envelope
    times_delivered: int  # by the group to a consumer: 1, or more when reclaimed

    @property
    def delivery(self) -> int:
        # Deliveries of earlier entries of this job (retries) plus those of this entry.
        return self.envelope.attempts + self.times_delivered


def _key_keys(keys: StreamKeys, key: str) -> list[str]:
    return [keys.stream, keys.key_state(key), keys.parked(key), keys.parked_index]


async def gate(redis: Redis, group: str, d: Delivered) -> bool:
    """Whether a keyed job may run now; if not, it is parked until its predecessor finishes."""
    env = d.envelope
    if env.key is None or env.seq is None:
        return True
    keys = _key_keys(StreamKeys(d.config.name), env.key)
    args = [group, d.entry_id, env.key, env.seq, env.member()]
    return bool(await GATE(keys, args, client=redis))


async def queue_finish(pipe: Pipeline, group: str, done: list[Delivered]) -> None:
    """Queue the acks of handled jobs of one stream: one XACK+XDEL, plus a script per keyed job."""
    if not done:
        return
    stream = done[0].config.name
    plain = [d.entry_id for d in done if not d.envelope.ordered]
    if plain:
        pipe.xack(stream, group, *plain)
        pipe.xdel(stream, *plain)
    for d in done:
        env = d.envelope
        if env.key is not None and env.seq is not None:
            keys = _key_keys(StreamKeys(stream), env.key)
            args = [group, d.entry_id, env.key, env.seq, d.config.maxlen, KEY_STATE_TTL_S]
            await FINISH_KEYED(keys, args, client=pipe)
    count_event(pipe, stream, "processed", len(done))


async def retry_later(redis: Redis, group: str, d: Delivered, delay_s: float, error: str) -> None:
    """Ack this entry and schedule the job again; its key (if any) stays held meanwhile."""
    keys = StreamKeys(d.config.name)
    member = d.envelope.failed(d.delivery, error).member()
    pipe = redis.pipeline(transaction=False)
    args = [group, d.entry_id, int(delay_s * 1000), member]
    await RETRY_LATER([keys.stream, keys.delayed], args, client=pipe)
    count_event(pipe, keys.stream, "failed")
    count_event(pipe, keys.stream, "retried")
    await pipe.execute()


async def bury(
    redis: Redis, group: str, d: Delivered, error: str, trace: str, *, failed: bool = True
) -> None:
    """Move the job to `<stream>:dead` and ack it; its key (if any) is released."""
    keys = StreamKeys(d.config.name)
    env = d.envelope.failed(d.delivery, error)
    fields = [*env.fields(), "traceback", trace, "failed_at", str(int(time.time() * 1000))]
    key = env.key if env.ordered else None
    script_keys = [keys.stream, keys.dead, *_key_keys(keys, key or "")[1:]]
    args = [group, d.entry_id, key or "", env.seq or 0, d.config.maxlen, KEY_STATE_TTL_S, *fields]
    pipe = redis.pipeline(transaction=False)
    await BURY(script_keys, args, client=pipe)
    if failed:
        count_event(pipe, keys.stream, "failed")
    count_event(pipe, keys.stream, "dead")
    await pipe.execute()


async def move_due(redis: Redis, config: StreamConfig, limit: int = 100) -> int:
    """Put retries whose time has come back on the stream; returns how many moved."""
    keys = StreamKeys(config.name)
    moved = 0
    while True:
        n = int(await MOVE_DUE([keys.stream, keys.delayed], [config.maxlen, limit], client=redis))
        moved += n
        if n < limit:
            return moved


async def release_stalled(redis: Redis, config: StreamConfig) -> list[tuple[str, int]]:
    """Release keys whose next job has waited longer than key_stall_s for its predecessor.

    That predecessor is lost (trimmed by MAXLEN, or Redis lost data): waiting longer would block
    the key for ever. Returns (key, released sequence number) pairs.
    """
    keys = StreamKeys(config.name)
    seconds, micros = await redis.time()
    cutoff = seconds * 1000 + micros // 1000 - config.key_stall_s * 1000
    released = []
    for raw in await redis.zrangebyscore(keys.parked_index, "-inf", cutoff, start=0, num=100):
        key = text(raw)
        args = [key, config.maxlen, KEY_STATE_TTL_S, int(config.key_stall_s * 1000)]
        seq = int(await RELEASE_STALLED(_key_keys(keys, key), args, client=redis))
        if seq:
            released.append((key, seq))
    return released
