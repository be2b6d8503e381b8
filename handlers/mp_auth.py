"""Authentication for /api/mp routes: a Bearer token naming a live mini-program session.

Every authenticated mini-program request also passes the rate limits (per client IP, then per
user); all of it lives in Redis, and a Redis outage answers 503 rather than 500.
"""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from handlers.keys import REDIS, SETTINGS
from services.errors import Unauthorized, Unavailable
from services.mp_sessions import MpSession, get_session
from services.ratelimit import check_rate


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def limit_ip(request: web.Request) -> None:
    """429 with Retry-After past the per-IP limit (every mini-program route, logged in or not)."""
    await check_rate(request.app[REDIS], f"mp:ip:{client_ip(request)}",
                     request.app[SETTINGS].mp_rate_per_ip)  # fmt: skip


async def mp_session(request: web.Request) -> MpSession:
    """The caller's session, or 401; 503 when Redis (where sessions live) does not answer."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("请先登录", code="login_required")
    try:
        session = await get_session(
            request.app[REDIS], token, request.app[SETTINGS].mp_session_ttl_s
        )
    except (RedisError, OSError) as exc:
        raise Unavailable(
            "会话服务暂时不可用，请稍后再试", code="session_store_unavailable"
        ) from exc
    if session is None:
        raise Unauthorized("登录已过期，请重新登录", code="session_expired")
    return session


async def mp_user(request: web.Request) -> MpSession:
    """The rate-limited session of a mini-program request: per IP, then per user."""
    await limit_ip(request)
    session = await mp_session(request)
    await check_rate(request.app[REDIS], f"mp:user:{session.user_id}",
                     request.app[SETTINGS].mp_rate_per_user)  # fmt: skip
    return session
