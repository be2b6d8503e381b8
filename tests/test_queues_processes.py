"""Queues across processes and outages: a SIGKILLed worker process, and a Redis restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from tortoise import connections

from queues import DEFAULT_GROUP, JobContext, Registry, StreamConfig, Worker, enqueue, worker_redis
from tests.conftest import REDIS_URL, PrivateRedis
from tests.queue_jobs import CREATE_EFFECT_TABLE, EFFECT_STREAM, RUNS_KEY

ROOT = Path(__file__).resolve().parent.parent


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


def start_worker_process(database_url: str, min_idle_s: float) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "QUEUE_TEST_DATABASE_URL": database_url,
        "QUEUE_TEST_REDIS_URL": REDIS_URL,
        "QUEUE_TEST_MIN_IDLE": str(min_idle_s),
        "QUEUE_TEST_CONCURRENCY": "8",
    }
    return subprocess.Popen([sys.executable, "-m", "tests.queue_jobs"], cwd=ROOT, env=env)


async def effect_rows() -> list[dict[str, Any]]:
    return await connections.get("default").execute_query_dict("SELECT job_id, n FROM job_effect")


async def test_a_killed_worker_process_loses_no_job_and_doubles_no_effect(redis: Redis, db: str):
    await connections.get("default").execute_script(CREATE_EFFECT_TABLE)
    ids = [await enqueue(redis, EFFECT_STREAM, "effect", {"sleep": 0.003}) for _ in range(1000)]

    async def runs_reach(n: int) -> bool:
        return int(await redis.get(RUNS_KEY) or 0) >= n

    first = start_worker_process(db, min_idle_s=60)
    try:
        await eventually(lambda: runs_reach(300), "the first worker is under way", 30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    stranded = (await redis.xpending(EFFECT_STREAM, DEFAULT_GROUP))["pending"]
    assert len(await effect_rows()) < 1000 and stranded > 0, "the kill came too late to matter"

    async def all_done() -> bool:
        pending = (await redis.xpending(EFFECT_STREAM, DEFAULT_GROUP))["pending"]
        return pending == 0 and await redis.xlen(EFFECT_STREAM) == 0

    # A short min-idle lets the new worker reclaim the dead one's entries quickly.
    second = start_worker_process(db, min_idle_s=1.0)
    try:
        await eventually(all_done, "the second worker drains the stream", 40)
    finally:
        second.send_signal(signal.SIGTERM)
        exit_code = second.wait(15)
    assert exit_code == 0, "SIGTERM should stop a worker gracefully"
    rows = await effect_rows()
    assert sorted(r["job_id"] for r in rows) == sorted(ids)  # every job, each once
    assert {r["n"] for r in rows} == {1}
    assert int(await redis.get(RUNS_KEY)) >= 1000


async def test_a_worker_rides_out_a_redis_restart_and_handles_new_jobs(private_redis: PrivateRedis):
    registry = Registry()
    handled: list[int] = []

    @registry.job("x")
    async def x(ctx: JobContext, payload: dict[str, Any]) -> None:
        handled.append(payload["n"])

    async def handled_are(expected: list[int]) -> bool:
        return sorted(handled) == expected

    stream = StreamConfig("test:restart")
    client = worker_redis(private_redis.url, block_ms=100)
    worker = Worker(client, registry, [stream], block_ms=100, mover_interval_s=0.05)
    producer = Redis.from_url(private_redis.url)
    task = asyncio.create_task(worker.run())
    try:
        for n in range(3):
            await enqueue(producer, stream.name, "x", {"n": n})
        await eventually(lambda: handled_are([0, 1, 2]), "the first jobs are handled")

        private_redis.kill()
        await asyncio.sleep(2.0)
        assert not task.done(), "the worker died with Redis"
        failures, reader_delays = worker.connection_errors, list(worker.backoff["reader"].delays)

        private_redis.start()  # empty: the stream and its group are gone
        # redis-py does not resend an XADD on a connection that died (it may have been applied),
        # so the producer side starts afresh; the worker keeps its client.
        await producer.aclose()
        producer = Redis.from_url(private_redis.url)
        for n in range(3, 6):
            await enqueue(producer, stream.name, "x", {"n": n})
        await eventually(lambda: handled_are(list(range(6))), "the new jobs are handled")
        assert not task.done()
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
        await producer.aclose()
        await client.aclose()
    # Four loops over a 2 s outage: a few tries each, with waits that doubled (no busy loop).
    assert 4 <= failures <= 32, failures
    assert 3 <= len(reader_delays) <= 8, reader_delays
    assert reader_delays == sorted(reader_delays) and reader_delays[-1] > 4 * reader_delays[0]
