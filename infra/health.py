"""Readiness: can we reach the database and Redis right now?"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio import Redis
from tortoise import connections

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


async def _probe(name: str, coro: Any) -> dict[str, Any]:
    try:
        await asyncio.wait_for(coro, PROBE_TIMEOUT)
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness probe %s failed: %r", name, exc)
        return {"ok": False, "name": name}
    return {"ok": True, "name": name}


async def check_readiness(redis: Redis) -> dict[str, dict[str, Any]]:
    """One entry per dependency: {"ok": bool, "name": Chinese name}."""
    database, cache = await asyncio.gather(
        _probe("数据库", connections.get("default").execute_query("SELECT 1")),
        _probe("Redis", redis.ping()),
    )
    return {"database": database, "redis": cache}
