"""Counted attempts at a secret (an ID number, an agent code, a consent, the ops token).

Each attempt is counted *before* it is checked, by one Redis script over every limit that applies
(per user, per enterprise, per client IP ...): thirty attempts sent at once are thirty counts, and
only as many as a limit allows go on to be checked. A right answer gives its count back; a wrong
one keeps it, and the wrong answer that reaches a limit locks that subject out. Each lock of the
same subject within a week lasts twice as long as the one before (up to a day).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

MAX_LOCK_S = 24 * 60 * 60
STRIKES_TTL_S = 7 * 24 * 60 * 60


@dataclass(frozen=True)
class Limit:
    """At most `max_failures` wrong attempts per `window_s` for one subject ("user:7"), then a
    lock of `lock_s` seconds (doubled for every earlier lock of the subject in a week)."""

    subject: str
    max_failures: int
    window_s: int = 3600
    lock_s: int = 3600


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was not allowed (or what its failure caused): the limit and for how long."""

    limit: Limit
    retry_after_s: int
    locked_now: bool = False


# Keys per limit i: count (3i-2), lock (3i-1), strikes (3i). ARGV: max lock, strikes TTL, then
# per limit: max failures (3i), window (3i+1), first lock (3i+2).
_BEGIN = AsyncScript(
    None,  # type: ignore[arg-type]
    b"""
local n = #KEYS / 3
for i = 1, n do
  local ttl = redis.call('TTL', KEYS[3*i-1])
  if ttl > 0 then return {i, ttl} end
end
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[3*i-2]) or '0')
  if count >= tonumber(ARGV[3*i]) then
    return {i, math.max(redis.call('TTL', KEYS[3*i-2]), 1)}
  end
end
for i = 1, n do
  if redis.call('INCR', KEYS[3*i-2]) == 1 then redis.call('EXPIRE', KEYS[3*i-2], ARGV[3*i+1]) end
end
return {0, 0}
""",
)

# A wrong answer: lock every subject whose count reached its limit. Returns, per limit, the
# attempts left and the lock: its length if this failure set it, minus its TTL if it was set.
_FAIL = AsyncScript(
    None,  # type: ignore[arg-type]
    b"""
local n = #KEYS / 3
local out = {}
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[3*i-2]) or '0')
  local left = tonumber(ARGV[3*i]) - count
  local locked = 0
  if left <= 0 then
    left = 0
    local strikes = redis.call('INCR', KEYS[3*i])
    redis.call('EXPIRE', KEYS[3*i], ARGV[2])
    locked = math.floor(math.min(tonumber(ARGV[3*i+2]) * 2 ^ (strikes - 1), tonumber(ARGV[1])))
    if not redis.call('SET', KEYS[3*i-1], strikes, 'NX', 'EX', locked) then
      redis.call('DECR', KEYS[3*i])
      locked = -math.max(redis.call('TTL', KEYS[3*i-1]), 1)
    end
    redis.call('DEL', KEYS[3*i-2])
  end
  out[2*i-1] = left
  out[2*i] = locked
end
return out
""",
)

# A right answer gives its counts back (a count that expired meanwhile is left alone).
_SUCCEED = AsyncScript(
    None,  # type: ignore[arg-type]
    b"""
for i = 1, #KEYS / 3 do
  if tonumber(redis.call('GET', KEYS[3*i-2]) or '0') > 0 then redis.call('DECR', KEYS[3*i-2]) end
end
return 1
""",
)


def lock_key(namespace: str, subject: str) -> str:
    return f"{namespace}:lock:{subject}"


def _call(namespace: str, limits: tuple[Limit, ...]) -> tuple[list[str], list[int]]:
    keys: list[str] = []
    args: list[int] = [MAX_LOCK_S, STRIKES_TTL_S]
    for limit in limits:
        keys += [
            f"{namespace}:failures:{limit.subject}",
            lock_key(namespace, limit.subject),
            f"{namespace}:strikes:{limit.subject}",
        ]
        args += [limit.max_failures, limit.window_s, limit.lock_s]
    return keys, args


@dataclass(frozen=True)
class Attempt:
    """One counted attempt under `limits` (in `namespace`'s keys)."""

    redis: Redis
    namespace: str
    limits: tuple[Limit, ...]

    async def begin(self) -> Refusal | None:
        """Count the attempt; a Refusal (nothing counted) while a subject is locked or full."""
        keys, args = _call(self.namespace, self.limits)
        index, ttl = await _BEGIN(keys, args, client=self.redis)
        if index == 0:
            return None
        return Refusal(self.limits[int(index) - 1], int(ttl))

    async def succeeded(self) -> None:
        keys, args = _call(self.namespace, self.limits)
        await _SUCCEED(keys, args, client=self.redis)

    async def failed(self) -> tuple[int, list[Refusal]]:
        """Keep the count of a wrong answer: the attempts left before the first limit locks,
        and the locks this failure set (or found set)."""
        keys, args = _call(self.namespace, self.limits)
        out = [int(v) for v in await _FAIL(keys, args, client=self.redis)]
        locks = [
            Refusal(limit, abs(out[2 * i + 1]), locked_now=out[2 * i + 1] > 0)
            for i, limit in enumerate(self.limits)
            if out[2 * i + 1] != 0
        ]
        return min(out[0::2]), locks
