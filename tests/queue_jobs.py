"""A worker process for the queue tests: ``python -m tests.queue_jobs``, configured by environment.

It runs through queues.run_worker_process, the entry point that `run.py worker` uses, with the
ORM opened on QUEUE_TEST_DATABASE_URL. Its one job writes an idempotent row per job id.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from tortoise import connections

from config.logging import setup_logging
from config.settings import Settings
from infra.db import database
from queues import JobContext, Registry, StreamConfig, run_worker_process

EFFECT_STREAM = "test:effects"
RUNS_KEY = "test:effects:runs"  # handler runs, duplicates included
CREATE_EFFECT_TABLE = "CREATE TABLE IF NOT EXISTS job_effect (job_id TEXT PRIMARY KEY, n INTEGER)"

registry = Registry()


@registry.job("effect")
async def record_effect(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Insert-if-absent keyed by job id: running it twice leaves one row with n = 1."""
    conn = connections.get("default")
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    await conn.execute_query(
        f"INSERT INTO job_effect (job_id, n) VALUES ({mark}, 1) ON CONFLICT DO NOTHING",
        [ctx.job_id],
    )
    await ctx.redis.incr(RUNS_KEY)
    await asyncio.sleep(float(payload.get("sleep", 0)))


def main() -> int:
    setup_logging(os.environ.get("QUEUE_TEST_LOG_LEVEL", "WARNING"))
    settings = Settings(
        database_url=os.environ["QUEUE_TEST_DATABASE_URL"],
        redis_url=os.environ["QUEUE_TEST_REDIS_URL"],
    )
    stream = StreamConfig(
        EFFECT_STREAM, min_idle_s=float(os.environ.get("QUEUE_TEST_MIN_IDLE", 60))
    )
    return run_worker_process(
        settings,
        [stream],
        int(os.environ.get("QUEUE_TEST_CONCURRENCY", 8)),
        registry,
        lifespan=lambda: database(settings.database_url),
        block_ms=200,
        janitor_interval_s=0.2,
        grace_s=5.0,
    )


if __name__ == "__main__":
    sys.exit(main())
