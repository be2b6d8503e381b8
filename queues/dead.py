"""Dead letters: jobs that used up their deliveries, kept in `<stream>:dead` for ops."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from queues.config import DEFAULT_MAXLEN, KEY_STATE_TTL_S, StreamKeys
from queues.envelope import Envelope, text
from queues.scripts import REQUEUE_DEAD

ERROR_CHARS = 500
TRACE_FRAMES = 5
TRACE_CHARS = 2000


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """The error as one line, and a summary of the last few frames of its traceback."""
    error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    frames = traceback.extract_tb(exc.__traceback__)[-TRACE_FRAMES:]
    lines = [f'File "{f.filename}", line {f.lineno}, in {f.name}: {f.line or ""}' for f in frames]
    return error, "\n".join([*lines, error])[-TRACE_CHARS:]


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str  # in the dead-letter stream
    job_id: str
    job: str
    payload: Any  # the decoded JSON, or the raw text when it does not decode
    key: str | None
    attempts: int
    error: str
    traceback: str
    failed_at: float  # epoch seconds


def _dead_letter(entry_id: str, raw: dict[Any, Any]) -> DeadLetter:
    env = Envelope.from_entry(entry_id, raw)
    fields = {text(k): text(v) for k, v in raw.items()}
    try:
        payload: Any = json.loads(env.payload)
    except ValueError:
        payload = env.payload
    return DeadLetter(
        entry_id=entry_id,
        job_id=env.job_id,
        job=env.job,
        payload=payload,
        key=env.key,
        attempts=env.attempts,
        error=env.last_error or "",
        traceback=fields.get("traceback", ""),
        failed_at=int(fields.get("failed_at") or 0) / 1000,
    )


async def list_dead(
    redis: Redis, stream: str, *, count: int = 50, before: str = "+"
) -> list[DeadLetter]:
    """Dead letters, newest first; pass the last entry_id as `before` for the next page."""
    end = before if before == "+" else f"({before}"
    rows = await redis.xrevrange(StreamKeys(stream).dead, max=end, min="-", count=count)
    return [_dead_letter(text(entry_id), fields) for entry_id, fields in rows]


async def count_dead(redis: Redis, stream: str) -> int:
    return int(await redis.xlen(StreamKeys(stream).dead))


async def requeue_dead(
    redis: Redis, stream: str, entry_id: str, *, maxlen: int = DEFAULT_MAXLEN
) -> str | None:
    """Put one dead letter back on its stream with a fresh delivery budget.

    Returns the new entry id, or None when there is no such dead letter (already requeued or
    dropped). The job keeps its job id; a keyed job goes to the end of its key's order.
    """
    keys = StreamKeys(stream)
    rows = await redis.xrange(keys.dead, min=entry_id, max=entry_id)
    if not rows:
        return None
    key = Envelope.from_entry(entry_id, rows[0][1]).key or ""
    script_keys = [keys.dead, stream, keys.key_state(key)]
    new_id = await REQUEUE_DEAD(script_keys, [entry_id, maxlen, KEY_STATE_TTL_S], client=redis)
    return text(new_id) if new_id else None


async def requeue_all_dead(redis: Redis, stream: str, *, maxlen: int = DEFAULT_MAXLEN) -> int:
    """Requeue every dead letter, oldest first so that keyed jobs keep their relative order."""
    moved, start = 0, "-"
    while rows := await redis.xrange(StreamKeys(stream).dead, min=start, count=100):
        for entry_id, _ in rows:
            if await requeue_dead(redis, stream, text(entry_id), maxlen=maxlen):
                moved += 1
        start = f"({text(rows[-1][0])}"
    return moved


async def drop_dead(redis: Redis, stream: str, entry_id: str) -> bool:
    """Delete one dead letter for good; False when it was not there."""
    return bool(await redis.xdel(StreamKeys(stream).dead, entry_id))
