"""Redis behind Sentinel: the master is killed during a load, a replica takes over, and nothing
acknowledged is lost. Debian's redis-sentinel, one master, one replica, three sentinels."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.settings import Settings
from queues import JobContext, Registry, StreamConfig, Worker, enqueue, worker_redis
from queues.connection import connect_redis, parse_sentinel_url, replicas_to_wait
from tests.sentinel_support import SERVICE, SentinelTopology

pytestmark = pytest.mark.slow

STREAM = "test:sentinel"
TRANSIENT = (RedisConnectionError, RedisTimeoutError, ResponseError, OSError)


async def test_the_sentinel_settings_name_the_master_and_keep_the_database_number() -> None:
    settings = Settings(
        redis_url="redis://ignored:6379/4",
        redis_sentinels="10.0.0.1:26379, 10.0.0.2:26380",
        redis_service="yc",
    )
    assert settings.redis_target == "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/yc/4"
    assert parse_sentinel_url(settings.redis_target) == (
        [("10.0.0.1", 26379), ("10.0.0.2", 26380)], "yc", 4)  # fmt: skip
    assert Settings(redis_url="redis://h:1/2").redis_target == "redis://h:1/2"
    sentinel, plain = connect_redis(settings.redis_target), connect_redis("redis://h:1/2")
    assert (replicas_to_wait(sentinel), replicas_to_wait(plain)) == (1, 0)
    await sentinel.aclose()
    await plain.aclose()
    with pytest.raises(ValueError):
        parse_sentinel_url("redis+sentinel://h:1/")


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[SentinelTopology]:
    servers = SentinelTopology(tmp_path)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
async def sentinel_settings(settings: Settings, topology: SentinelTopology) -> Settings:
    return dataclasses.replace(
        settings, redis_url="redis://unused/0", redis_sentinels=topology.sentinels,
        redis_service=SERVICE,
    )  # fmt: skip


async def _until_acknowledged(redis: Any, n: int) -> None:
    """A producer that retries until Redis acknowledges the job, as a handler's caller does."""
    while True:
        try:
            await enqueue(redis, STREAM, "count", {"n": n})
            return
        except TRANSIENT:
            await asyncio.sleep(0.1)


async def _sample_readiness(client: Any, seen: list[tuple[float, int]]) -> AsyncIterator[None]:
    while True:
        response = await client.get("/readyz")
        seen.append((time.monotonic(), response.status))
        await asyncio.sleep(0.2)
        yield None


async def test_killing_the_master_during_a_load_loses_nothing_acknowledged(
    aiohttp_client, db, sentinel_settings: Settings, topology: SentinelTopology
) -> None:
    from handlers.app import create_app

    target = sentinel_settings.redis_target
    first_master = topology.master_port_now()
    handled: set[int] = set()  # a set: a job delivered twice counts once, as handlers' keys do
    registry = Registry()

    @registry.job("count")
    async def count(ctx: JobContext, payload: dict[str, Any]) -> None:
        handled.add(payload["n"])

    worker_client = worker_redis(target, block_ms=100)
    stream = StreamConfig(STREAM, min_idle_s=2.0, backoff_base_s=0.05, backoff_cap_s=0.5)
    worker = Worker(worker_client, registry, [stream], block_ms=100, janitor_interval_s=0.2,
                    mover_interval_s=0.05, grace_s=2.0)  # fmt: skip
    running = asyncio.create_task(worker.run())
    producer = connect_redis(target, socket_timeout=2, socket_connect_timeout=1)
    app = await aiohttp_client(create_app(sentinel_settings))
    readiness: list[tuple[float, int]] = []
    sampler = _sample_readiness(app, readiness)
    sampling = asyncio.create_task(_drain(sampler))
    try:
        for n in range(30):
            await _until_acknowledged(producer, n)
        topology.kill_master()
        killed_at = time.monotonic()
        await _until_acknowledged(producer, 30)
        took = time.monotonic() - killed_at
        for n in range(31, 40):
            await _until_acknowledged(producer, n)
        deadline = time.monotonic() + 30
        while handled != set(range(40)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        sampling.cancel()
        worker.stop()
        await asyncio.wait_for(running, 15)
        await producer.aclose()
        await worker_client.aclose()

    assert took < 30, f"fail-over took {took:.1f} s"
    assert topology.master_port_now() == topology.replica_port != first_master
    assert handled == set(range(40)), sorted(set(range(40)) - handled)
    during = [status for at, status in readiness if at > killed_at and at < killed_at + took]
    assert 503 in during, readiness
    assert readiness[-1][1] == 200, readiness


async def _drain(samples: AsyncIterator[None]) -> None:
    async for _ in samples:
        pass
