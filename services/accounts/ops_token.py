"""The ops token, which Prometheus sends as a Bearer header to scrape /metrics (people sign in
to /ops with their own staff accounts). Wrong tokens are counted per client IP before they are
checked (services.accounts.attempts) and lock it out.
"""

from __future__ import annotations

import hmac

from redis.asyncio import Redis

from services.accounts.attempts import Attempt, Limit
from services.errors import Forbidden, ServiceError

NAMESPACE = "ops"
MAX_FAILURES = 10
WINDOW_S = 15 * 60
FIRST_LOCK_S = 15 * 60


class OpsLocked(ServiceError):
    status = 429
    code = "ops_locked"
    message = "运维令牌错误次数过多，已暂时锁定，请稍后再试"


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
