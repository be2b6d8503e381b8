"""Ops sign-in: the ops token is checked once, at the login form or in a Bearer header, and the
browser then holds a random session id (the token itself never goes into a cookie). Wrong
tokens are counted per client IP before they are checked (services.accounts.attempts) and lock it
out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from redis.asyncio import Redis

from services.accounts.attempts import Attempt, Limit
from services.errors import Forbidden, ServiceError, Unauthorized

SESSION_TTL_S = 8 * 60 * 60
NAMESPACE = "ops"
MAX_FAILURES = 10
WINDOW_S = 15 * 60
FIRST_LOCK_S = 15 * 60


class OpsLocked(ServiceError):
    status = 429
    code = "ops_locked"
    message = "运维令牌错误次数过多，已暂时锁定，请稍后再试"


def _session_key(session_id: str) -> str:
    # Only a hash of the id is stored: a copy of Redis does not open the ops view.
    return f"ops:session:{hashlib.sha256(session_id.encode()).hexdigest()}"


async def check_token(redis: Redis, expected: str, given: str, client_ip: str) -> None:
    """Raise unless `given` is the ops token: Forbidden (counted), OpsLocked (429) once this
    address has given too many wrong ones."""
    attempt = Attempt(redis, NAMESPACE, (Limit(f"ip:{client_ip}", MAX_FAILURES, WINDOW_S,
                                               FIRST_LOCK_S),))  # fmt: skip
    refusal = await attempt.begin()
    if refusal is not None:
        raise OpsLocked(retry_after_s=refusal.retry_after_s)
    if expected and hmac.compare_digest(given.encode(), expected.encode()):
        await attempt.succeeded()
        return
    _, locks = await attempt.failed()
    if locks:
        raise OpsLocked(retry_after_s=locks[0].retry_after_s)
    raise Forbidden("运维令牌无效", code="ops_token_invalid")


async def start_session(redis: Redis) -> str:
    """A new session id for a browser that gave the right token."""
    session_id = secrets.token_urlsafe(32)
    await redis.set(_session_key(session_id), b"1", ex=SESSION_TTL_S)
    return session_id


async def require_session(redis: Redis, session_id: str) -> None:
    """Unauthorized unless the id is a live session."""
    if not session_id or len(session_id) > 128 or not await redis.exists(_session_key(session_id)):
        raise Unauthorized("请先登录运维视图", code="ops_session_required")
