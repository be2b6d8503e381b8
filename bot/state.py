"""Each user's dialog state in Redis, with the 30-minute idle timeout.

The engine loads the state, runs one step and only then writes the new state: a worker killed in
between replays the step from the old state. Steps with side effects (a report request, an
objection) run through `once`, keyed by the message, so that a replay does not repeat them.

The state is written with the identity of the message that led to it and the replies that
message got, in one SET: a worker killed after that write but before its job finished runs the
same message again, and the engine answers it with those replies without taking a step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 30 * 60
# Kept a day after the last message, so that a user returning after the timeout hears about it.
KEEP_S = 24 * 3600
ONCE_KEEP_S = 24 * 3600


@dataclass(frozen=True)
class DialogState:
    """Where one user is: which dialog, which step, and what was collected so far."""

    dialog: str = ""  # "" when the user is not in a dialog
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.dialog)

    def at(self, step: str, **data: Any) -> DialogState:
        """The same dialog at another step, with `data` added to what was collected."""
        return replace(self, step=step, data={**self.data, **data})


IDLE = DialogState()


@dataclass(frozen=True)
class Answered:
    """The last message handled (services.wechat.messages.message_identity) and its replies,
    as OutboundMessage.to_dict gives them."""

    identity: str
    replies: list[dict[str, Any]]


@dataclass(frozen=True)
class Stored:
    """What Redis holds for a user: the state, whether a dialog in it timed out, and the last
    message answered."""

    state: DialogState
    timed_out: bool = False
    answered: Answered | None = None


def _key(openid: str) -> str:
    return f"bot:state:{openid}"


async def load(redis: Redis, openid: str, now: float) -> Stored:
    """The user's state and last answer; a dialog idle too long is dropped and said to be."""
    raw = await redis.get(_key(openid))
    if raw is None:
        return Stored(IDLE)
    try:
        record = json.loads(raw)
        last = record.pop("answered", None)
        answered = Answered(**last) if last is not None else None
        state = DialogState(**record)
    except (ValueError, TypeError, AttributeError):  # written by an older version: start afresh
        log.warning("bot: dropping an unreadable dialog state")
        return Stored(IDLE)
    if state.active and now - state.updated_at > IDLE_TIMEOUT_S:
        return Stored(IDLE, True, answered)
    return Stored(state, False, answered)


async def load_state(redis: Redis, openid: str, now: float) -> tuple[DialogState, bool]:
    """The user's state, and whether a dialog was dropped because it sat idle too long."""
    stored = await load(redis, openid, now)
    return stored.state, stored.timed_out


async def save_state(
    redis: Redis, openid: str, state: DialogState, now: float, answered: Answered | None = None
) -> None:
    """The state after a step, with the message that led to it and its replies."""
    if not state.active and answered is None:
        await redis.delete(_key(openid))
        return
    record = asdict(replace(state, updated_at=now))
    if answered is not None:
        record["answered"] = asdict(answered)
    await redis.set(_key(openid), json.dumps(record, ensure_ascii=False), ex=KEEP_S)


async def clear_state(redis: Redis, openid: str) -> None:
    await redis.delete(_key(openid))


async def once(
    redis: Redis, key: str, action: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run `action` once per key and remember its result: a replayed message gets the same one."""
    stored = await redis.get(f"bot:once:{key}")
    if stored is not None:
        return dict(json.loads(stored))
    result = await action()
    await redis.set(f"bot:once:{key}", json.dumps(result, ensure_ascii=False), ex=ONCE_KEEP_S)
    return result
