"""Authentication for /api/mp routes: a Bearer token naming a live mini-program session.

Every authenticated mini-program request also passes the rate limits (per client IP, then per
user); all of it lives in Redis, and a Redis outage answers 503 rather than 500.
"""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from handlers.keys import REDIS, SETTINGS
from services.accounts.mp_sessions import Admission, MpSession, admit
from services.errors import Unauthorized, Unavailable
from services.ratelimit import TooManyRequests


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def _admit(request: web.Request, token: str | None) -> Admission:
    settings = request.app[SETTINGS]
    try:
        admission = await admit(
            request.app[REDIS], token, client_ip(request), ip_limit=settings.mp_rate_per_ip,
            user_limit=settings.mp_rate_per_user, ttl_s=settings.mp_session_ttl_s,
        )  # fmt: skip
    except (RedisError, OSError) as exc:
        raise Unavailable(
            "会话服务暂时不可用，请稍后再试", code="session_store_unavailable"
        ) from exc
    if admission.limited:
        raise TooManyRequests(retry_after_s=admission.retry_after_s)
    return admission


async def limit_ip(request: web.Request) -> None:
    """429 with Retry-After past the per-IP limit (every mini-program route, logged in or not)."""
    await _admit(request, None)


async def mp_user(request: web.Request) -> MpSession:
    """The session of a mini-program request, within the per-IP and per-user rate limits:
    429 past a limit, 401 without a live session, 503 while Redis is away."""
    token = bearer_token(request)
    if token is None:
        await _admit(request, None)  # an anonymous request still counts against its IP
        raise Unauthorized("请先登录", code="login_required")
    session = (await _admit(request, token)).session
    if session is None:
        raise Unauthorized("登录已过期，请重新登录", code="session_expired")
    return session
