"""Fixed-window rate limits in Redis, shared by every serving process."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from services.errors import ServiceError


class TooManyRequests(ServiceError):
    """The caller asked too often."""

    status = 429
    code = "rate_limited"
    message = "请求过于频繁，请稍后再试"


async def check_rate(redis: Redis, bucket: str, limit: int, window_s: int = 60) -> None:
    """Raise TooManyRequests past `limit` calls per window for this bucket."""
    key = f"ratelimit:{bucket}:{int(time.time() // window_s)}"
    pipe = redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, window_s * 2)
    count, _ = await pipe.execute()
    if count > limit:
        raise TooManyRequests(retry_after_s=window_s)
