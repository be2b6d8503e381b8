"""Mini-program sessions: YuCredit's own opaque tokens, kept in Redis with a sliding TTL.

WeChat's session_key is stored beside the user id (it is needed to decrypt user data later) but
never leaves the server: nothing here returns it to a caller that builds a response.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

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


# --- admission: rate limits and the session in one round trip --------------------------------

RATE_WINDOW_S = 60

# KEYS ip_bucket, session_key | ARGV ip_limit, window_s, session_ttl_s, user_limit,
# user_bucket_prefix, window_index. The user's bucket is named from the session's user id,
# which only the script knows; fine on a single Redis (not Redis Cluster).
# Returns {outcome, user_id}: outcome 0 admitted (or no session: user_id false),
# 1 over the IP limit, 2 over the user limit.
_ADMIT = AsyncScript(
    None,
    b"""
local function count(key, window)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window * 2) end
  return n
end
local window = tonumber(ARGV[2])
if count(KEYS[1], window) > tonumber(ARGV[1]) then return {1, false} end
local raw = redis.call('GET', KEYS[2])
if not raw then return {0, false} end
redis.call('EXPIRE', KEYS[2], ARGV[3])
local user_id = cjson.decode(raw)['user_id']
if count(ARGV[5] .. user_id .. ':' .. ARGV[6], window) > tonumber(ARGV[4]) then
  return {2, user_id}
end
return {0, user_id}
""",
)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Admission:
    session: MpSession | None
    limited: str | None  # "ip" or "user" when over its limit
    retry_after_s: int = 0


async def admit(
    redis: Redis,
    token: str | None,
    ip: str,
    *,
    ip_limit: int,
    user_limit: int,
    ttl_s: int = SESSION_TTL_S,
) -> Admission:
    """Count the request against its IP's and its user's per-minute limits (same buckets as
    services.ratelimit.check_rate) and look its session up, sliding the TTL: one round trip."""
    now = time.time()
    window = int(now // RATE_WINDOW_S)
    keys = [f"ratelimit:mp:ip:{ip}:{window}", _key(token) if token else "mp:session:-"]
    args = [ip_limit, RATE_WINDOW_S, ttl_s, user_limit, "ratelimit:mp:user:", window]
    outcome, user_id = await _ADMIT(keys=keys, args=args, client=redis)
    retry_after = max(1, int(RATE_WINDOW_S - now % RATE_WINDOW_S))
    if outcome == 1:
        return Admission(None, "ip", retry_after)
    session = MpSession(token, int(user_id)) if token and user_id else None
    if outcome == 2:
        return Admission(session, "user", retry_after)
    return Admission(session, None)
