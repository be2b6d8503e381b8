"""Staff sessions: an opaque cookie naming a Redis entry with the person and a CSRF token.

Redis keeps only the SHA-256 of the cookie value. A session ends after IDLE_S without a request
(each request slides it) and in any case MAX_AGE_S after sign-in. Signing in always makes a new
session and ends the one the browser brought, so an id planted before sign-in is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

COOKIE = "yc_staff"
IDLE_S = 15 * 60
MAX_AGE_S = 10 * 60 * 60  # a working day: a left-open console does not stay signed in overnight


@dataclass(frozen=True)
class StaffSession:
    token: str
    staff_id: int
    csrf: str
    started_at: float

    def csrf_matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf.encode(), (given or "").encode())


def _key(token: str) -> str:
    return "staff:session:" + hashlib.sha256(token.encode()).hexdigest()


async def start_staff_session(redis: Redis, staff_id: int, replacing: str = "") -> StaffSession:
    """A new session for the person who just signed in; the browser's old one, if any, ends."""
    if replacing:
        await end_staff_session(redis, replacing)
    token, csrf, started = secrets.token_urlsafe(32), secrets.token_urlsafe(32), time.time()
    value = json.dumps({"staff_id": staff_id, "csrf": csrf, "started_at": started})
    await redis.set(_key(token), value, ex=IDLE_S)
    return StaffSession(token, staff_id, csrf, started)


async def staff_session(redis: Redis, token: str) -> StaffSession | None:
    """The live session of this cookie value, slid forward; None when unknown, idle or too old."""
    if not token or len(token) > 128:
        return None
    raw = await redis.getex(_key(token), ex=IDLE_S)
    if raw is None:
        return None
    data = json.loads(raw)
    if time.time() - float(data["started_at"]) > MAX_AGE_S:
        await end_staff_session(redis, token)
        return None
    return StaffSession(token, int(data["staff_id"]), data["csrf"], float(data["started_at"]))


async def end_staff_session(redis: Redis, token: str) -> None:
    await redis.delete(_key(token))
