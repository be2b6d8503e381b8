"""Small conversation engines for the plumbing tests (the real one is bot.engine).

They follow the BotEngine protocol of services/wechat/messages.py and keep their state in Redis,
as the real engine does, so that a worker process can be killed between any two steps.
"""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from config.settings import Settings
from services.wechat.messages import InboundMessage, OutboundMessage, message_identity

SLEEPING_KEY = "bot:test:sleeping"  # set while a step pauses, so that a test can kill the worker


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
    if word not in msg.content:
        return
    # Only the first run of a message pauses: the run after a kill goes straight through.
    if await redis.set(f"bot:test:paused:{msg.content}", 1, nx=True):
        await redis.set(SLEEPING_KEY, msg.content)
        await asyncio.sleep(float(await redis.get("bot:test:pause") or 0.3))
        await redis.delete(SLEEPING_KEY)
