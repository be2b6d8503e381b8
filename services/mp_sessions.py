"""Mini-program sessions: YuCredit's own opaque tokens, kept in Redis with a sliding TTL.

WeChat's session_key is stored beside the user id (it is needed to decrypt user data later) but
never leaves the server: nothing here returns it to a caller that builds a response.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

SESSION_TTL_S = 2 * 60 * 60  # refreshed on every use


@dataclass(frozen=True)
class MpSession:
    token: str
    user_id: int


def _key(token: str) -> str:
    # The token itself is not the key, so that a Redis dump does not hand out live sessions.
    return "mp:session:" + hashlib.sha256(token.encode()).hexdigest()


async def create_session(
    redis: Redis, user_id: int, session_key: str = "", ttl_s: int = SESSION_TTL_S
) -> MpSession:
    token = secrets.token_urlsafe(32)
    value = json.dumps({"user_id": user_id, "session_key": session_key})
    await redis.set(_key(token), value, ex=ttl_s)
    return MpSession(token=token, user_id=user_id)


async def get_session(redis: Redis, token: str, ttl_s: int = SESSION_TTL_S) -> MpSession | None:
    """The live session for this token, its TTL slid forward; None when unknown or expired."""
    key = _key(token)
    pipe = redis.pipeline(transaction=True)
    pipe.get(key)
    pipe.expire(key, ttl_s)
    raw, _ = await pipe.execute()
    if raw is None:
        return None
    return MpSession(token=token, user_id=int(json.loads(raw)["user_id"]))


async def end_session(redis: Redis, token: str) -> None:
    await redis.delete(_key(token))
