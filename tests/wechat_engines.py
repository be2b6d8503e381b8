"""Conversation engines for the plumbing tests: small stand-ins, and the real one (bot.engine)
with pauses to be killed in.

They follow the BotEngine protocol of services/wechat/messages.py and keep their state in Redis,
as the real engine does, so that a worker process can be killed between any two steps.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from config.settings import Settings
from services.wechat.messages import BotEngine, InboundMessage, OutboundMessage, message_identity

SLEEPING_KEY = "bot:test:sleeping"  # set while a step pauses, so that a test can kill the worker
PAUSE_S_KEY = "bot:test:pause"  # how long a pause lasts, in seconds
# For the real engine: message identity -> "before" or "after" (the engine saves its state).
PAUSES_KEY = "bot:test:pauses"


def state_key(openid: str) -> str:
    return f"bot:test:state:{openid}"


def busy_key(openid: str) -> str:
    return f"bot:test:busy:{openid}"


def max_busy_key(openid: str) -> str:
    return f"bot:test:max-busy:{openid}"


async def echo_engine(
    redis: Redis, settings: Settings, msg: InboundMessage
) -> list[OutboundMessage]:
    return [OutboundMessage(msg.openid, "text", text=f"你说：{msg.content}")]


async def step_engine(
    redis: Redis, settings: Settings, msg: InboundMessage
) -> list[OutboundMessage]:
    """Counts a user's steps and logs what they said, in Redis.

    A message whose text contains "slow-before" (or "slow-after") pauses before (after) the state
    is saved, on its first run only. A repeat of the last message handled answers as before
    without a new step: the guard every engine needs for a worker killed after saving its state.
    """
    busy = await redis.incr(busy_key(msg.openid))
    await _record_max(redis, msg.openid, busy)
    try:
        state = json.loads(await redis.get(state_key(msg.openid)) or "{}")
        if state.get("last") == message_identity(msg):
            return [OutboundMessage.from_dict(r) for r in state["replies"]]
        await _pause_if(redis, msg, "slow-before")
        steps = state.get("steps", 0) + 1
        replies = [OutboundMessage(msg.openid, "text", text=f"第{steps}步：{msg.content}")]
        state = {
            "steps": steps,
            "log": [*state.get("log", []), msg.content],
            "last": message_identity(msg),
            "replies": [r.to_dict() for r in replies],
        }
        await redis.set(state_key(msg.openid), json.dumps(state, ensure_ascii=False))
        await _pause_if(redis, msg, "slow-after")
        return replies
    finally:
        await redis.decr(busy_key(msg.openid))


async def _record_max(redis: Redis, openid: str, busy: int) -> None:
    current = int(await redis.get(max_busy_key(openid)) or 0)
    if busy > current:
        await redis.set(max_busy_key(openid), busy)


async def _pause_if(redis: Redis, msg: InboundMessage, word: str) -> None:
    if word in msg.content:
        await _pause_once(redis, msg.content)


async def _pause_once(redis: Redis, name: str) -> None:
    """Pause the first time `name` asks, with SLEEPING_KEY set to it meanwhile: the run after a
    kill goes straight through."""
    if await redis.set(f"bot:test:paused:{name}", 1, nx=True):
        await redis.set(SLEEPING_KEY, name)
        await asyncio.sleep(float(await redis.get(PAUSE_S_KEY) or 0.3))
        await redis.delete(SLEEPING_KEY)


async def _pause_at(redis: Redis, identity: str, when: str) -> None:
    if await redis.hget(PAUSES_KEY, identity) == when.encode():
        await _pause_once(redis, identity)


def pausing_bot_engine() -> BotEngine:
    """bot.engine.handle, pausing on the messages named in PAUSES_KEY: just before the engine
    saves the state after their step ("before"), or once it has ("after").

    It wraps bot.engine.save_state for the whole process: for a worker process of its own.
    """
    from bot import engine

    save_state = engine.save_state

    async def pausing_save(
        redis: Redis, openid: str, state: Any, now: float, answered: Any = None
    ) -> None:
        if answered is not None:
            await _pause_at(redis, answered.identity, "before")
        await save_state(redis, openid, state, now, answered)

    engine.save_state = pausing_save  # type: ignore[assignment]

    async def handle(
        redis: Redis, settings: Settings, msg: InboundMessage
    ) -> list[OutboundMessage]:
        replies = await engine.handle(redis, settings, msg)
        await _pause_at(redis, message_identity(msg), "after")
        return replies

    return handle
