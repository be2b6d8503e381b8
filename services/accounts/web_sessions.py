"""Web site sessions: an opaque cookie naming a Redis entry that holds the user and the CSRF token.

Like the mini-program's tokens, the cookie value is never the Redis key (only its SHA-256 is), so
a Redis dump hands out no live session. The CSRF token is a second random value kept in the
session: every form carries it, and a state-changing request without the matching one is refused.
Logging in replaces any earlier session, so a session id planted before login is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

COOKIE = "yc_web"
LOGIN_COOKIE = "yc_login"  # binds a login in progress to the browser that started it
LOGIN_TTL_S = 10 * 60


@dataclass(frozen=True)
class WebSession:
    token: str
    user_id: int
    csrf: str
    method: str  # "wechat" or "oidc": how the user logged in


def _key(token: str) -> str:
    return "web:session:" + hashlib.sha256(token.encode()).hexdigest()


async def create_web_session(redis: Redis, user_id: int, method: str, ttl_s: int) -> WebSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    value = json.dumps({"user_id": user_id, "csrf": csrf, "method": method})
    await redis.set(_key(token), value, ex=ttl_s)
    return WebSession(token, user_id, csrf, method)


async def get_web_session(redis: Redis, token: str, ttl_s: int) -> WebSession | None:
    """The live session of this cookie value, its TTL slid forward; None when unknown or expired."""
    if not token or len(token) > 128:
        return None
    raw = await redis.getex(_key(token), ex=ttl_s)  # read and slide in one command
    if raw is None:
        return None
    data = json.loads(raw)
    return WebSession(token, int(data["user_id"]), data["csrf"], data["method"])


async def end_web_session(redis: Redis, token: str) -> None:
    await redis.delete(_key(token))


def csrf_matches(session: WebSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf.encode(), (given or "").encode())


# --- logins in progress: state, PKCE verifier and nonce, bound to the browser ---------------


def _login_key(state: str) -> str:
    return "web:login:" + hashlib.sha256(state.encode()).hexdigest()


async def remember_login(redis: Redis, state: str, data: dict[str, str]) -> None:
    await redis.set(_login_key(state), json.dumps(data), ex=LOGIN_TTL_S)


async def take_login(redis: Redis, state: str) -> dict[str, str] | None:
    """The login started with this state, once: a replayed callback finds nothing."""
    if not state or len(state) > 128:
        return None
    raw = await redis.getdel(_login_key(state))
    return json.loads(raw) if raw else None
