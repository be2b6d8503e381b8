"""Daily serial numbers (report 报告编号, objection 工单号) that concurrent requests never share.

The next serial comes from one atomic Redis step that never falls below what the database
already holds, so two requests in the same instant, in any process, get different numbers and
neither has to be refused. The caller still retries on a unique violation (a row written while
Redis had lost its counter), with a fresh floor each time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from redis.asyncio import Redis

# The counter is at least the largest serial stored; then one more.
_NEXT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if current < floor then current = floor end
current = current + 1
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return current
"""
COUNTER_TTL_S = 3 * 24 * 3600  # the day's counter outlives the day, then goes
SERIAL_DIGITS = 6


async def next_serial_number(
    redis: Redis, prefix: str, day: date, stored_last: Callable[[str], Awaitable[str | None]]
) -> str:
    """`prefix` + yyyymmdd + a 6-digit serial; `stored_last(day_prefix)` is the largest number
    the database holds with that day prefix, or None."""
    day_prefix = f"{prefix}{day:%Y%m%d}"
    last = await stored_last(day_prefix)
    floor = int(last[len(day_prefix) :]) if last else 0
    serial = await redis.eval(_NEXT, 1, f"serial:{day_prefix}", floor, COUNTER_TTL_S)
    return f"{day_prefix}{int(serial):0{SERIAL_DIGITS}d}"
