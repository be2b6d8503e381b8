"""Authentication for /api/mp routes: a Bearer token naming a live mini-program session."""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from handlers.keys import REDIS
from services.errors import Unauthorized, Unavailable
from services.mp_sessions import MpSession, get_session


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def mp_session(request: web.Request) -> MpSession:
    """The caller's session, or 401; 503 when Redis (where sessions live) does not answer."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("请先登录", code="login_required")
    try:
        session = await get_session(request.app[REDIS], token)
    except (RedisError, OSError) as exc:
        raise Unavailable(
            "会话服务暂时不可用，请稍后再试", code="session_store_unavailable"
        ) from exc
    if session is None:
        raise Unauthorized("登录已过期，请重新登录", code="session_expired")
    return session
