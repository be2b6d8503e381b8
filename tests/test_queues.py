"""Queues on a real Redis: delivery, retries, dead letters, reclaiming, shutdown, key ordering."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from config.logging import request_id_var
from queues import (
    DEFAULT_GROUP,
    JobContext,
    Registry,
    StreamConfig,
    Worker,
    count_dead,
    drop_dead,
    enqueue,
    list_dead,
    requeue_all_dead,
    requeue_dead,
    stream_stats,
)
from queues.backoff import backoff_delay
from queues.registry import UnknownJob
from tests.conftest import REDIS_URL

STREAM = "test:jobs"
# Quick loops so that each test takes a fraction of a second.
FAST = {"block_ms": 100, "janitor_interval_s": 0.05, "mover_interval_s": 0.02, "grace_s": 2.0}


def config(**overrides: Any) -> StreamConfig:
    values: dict[str, Any] = {
        "max_deliveries": 3,
        "min_idle_s": 30.0,
        "backoff_base_s": 0.05,
        "backoff_cap_s": 0.2,
    } | overrides
    return StreamConfig(STREAM, **values)


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


async def pending_count(redis: Redis, stream: str = STREAM) -> int:
    return (await redis.xpending(stream, DEFAULT_GROUP))["pending"]


async def test_enqueue_returns_the_entry_id_and_keeps_the_payload_as_json(redis: Redis):
    entry_id = await enqueue(redis, STREAM, "greet", {"name": "渝信"})
    [(got_id, fields)] = await redis.xrange(STREAM)
    assert got_id.decode() == entry_id
    assert fields[b"job"] == b"greet"
    assert json.loads(fields[b"payload"]) == {"name": "渝信"}


async def test_a_handled_job_is_acked_removed_and_counted(redis: Redis):
    registry = Registry()
    seen: list[tuple[str, int, dict[str, Any]]] = []

    @registry.job("greet")
    async def greet(ctx: JobContext, payload: dict[str, Any]) -> None:
        seen.append((ctx.job_id, ctx.delivery, payload))

    job_id = await enqueue(redis, STREAM, "greet", {"name": "a"})
    worker = Worker(redis, registry, [config()], **FAST)
    async with running(worker):
        await eventually(lambda: _processed(redis, 1), "the job is counted as processed")
    assert seen == [(job_id, 1, {"name": "a"})]
    stats = await stream_stats(redis, STREAM)
    assert (stats.depth, stats.pending, stats.lag) == (0, 0, 0), stats


async def _processed(redis: Redis, n: int) -> bool:
    return (await stream_stats(redis, STREAM)).last_minute.processed >= n


async def test_handlers_log_under_the_job_id_as_request_id(redis: Redis):
    registry = Registry()
    ids: list[str] = []

    @registry.job("log")
    async def remember(ctx: JobContext, payload: dict[str, Any]) -> None:
        ids.append(request_id_var.get())

    job_id = await enqueue(redis, STREAM, "log", {})
    async with running(Worker(redis, registry, [config()], **FAST)):
        await eventually(lambda: _true(bool(ids)), "the handler ran")
    assert ids == [job_id]


async def _true(value: bool) -> bool:
    return value


def test_backoff_doubles_up_to_the_cap_with_equal_jitter():
    rng = random.Random(7)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (20, 30.0)]:
        delays = [backoff_delay(attempt, 1.0, 30.0, rng) for _ in range(200)]
        assert step / 2 <= min(delays) and max(delays) <= step, (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > step / 4, "no jitter"


async def test_a_failing_job_is_retried_with_growing_delays_and_keeps_its_job_id(redis: Redis):
    registry = Registry()
    tries: list[tuple[float, int, str]] = []

    @registry.job("flaky")
    async def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        tries.append((time.monotonic(), ctx.delivery, ctx.job_id))
        if ctx.delivery < 3:
            raise RuntimeError(f"try {ctx.delivery} fails")

    job_id = await enqueue(redis, STREAM, "flaky", {})
    cfg = config(max_deliveries=5, backoff_base_s=0.1, backoff_cap_s=1.0)
    async with running(Worker(redis, registry, [cfg], **FAST)):
        await eventually(lambda: _processed(redis, 1), "the third try succeeds")
    assert [(d, j) for _, d, j in tries] == [(1, job_id), (2, job_id), (3, job_id)]
    gaps = [b[0] - a[0] for a, b in zip(tries, tries[1:], strict=False)]
    # Step 0.1 s then 0.2 s, each at least half its step (equal jitter), plus loop slack.
    # Only the lower bounds are behaviour: on a loaded machine a retry may run late, never early.
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1, gaps
    stats = await stream_stats(redis, STREAM)
    counts = stats.last_minute
    assert (counts.processed, counts.failed, counts.retried, counts.dead) == (1, 2, 2, 0), counts
    assert stats.last_hour == counts and stats.scheduled_retries == 0


async def test_a_poison_job_becomes_a_dead_letter_and_succeeds_once_requeued(redis: Redis):
    registry = Registry()
    done: list[str] = []

    @registry.job("import_row")
    async def import_row(ctx: JobContext, payload: dict[str, Any]) -> None:
        if not await ctx.redis.get("test:fixed"):
            raise ValueError(f"bad row {payload['row']}")
        done.append(ctx.job_id)

    job_id = await enqueue(redis, STREAM, "import_row", {"row": 7})
    worker = Worker(redis, registry, [config(max_deliveries=3)], **FAST)
    async with running(worker):
        await eventually(lambda: _dead_count(redis, 1), "the job is a dead letter")
        [letter] = await list_dead(redis, STREAM)
        assert (letter.job_id, letter.job, letter.payload) == (job_id, "import_row", {"row": 7})
        assert letter.attempts == 3 and letter.error == "ValueError: bad row 7"
        assert "in import_row" in letter.traceback and "test_queues.py" in letter.traceback
        stats = await stream_stats(redis, STREAM)
        assert stats.dead == 1 and stats.last_minute.dead == 1 and stats.last_minute.failed == 3
        assert (stats.depth, stats.pending) == (0, 0)

        await redis.set("test:fixed", 1)  # the cause is fixed
        assert await requeue_dead(redis, STREAM, letter.entry_id)
        await eventually(lambda: _true(done == [job_id]), "the requeued job succeeds")
    assert await count_dead(redis, STREAM) == 0
    assert await requeue_dead(redis, STREAM, letter.entry_id) is None


async def _dead_count(redis: Redis, n: int) -> bool:
    return await count_dead(redis, STREAM) >= n


async def test_an_unknown_job_ends_as_a_dead_letter_that_names_it(redis: Redis):
    await enqueue(redis, STREAM, "no_such_job", {})
    async with running(Worker(redis, Registry(), [config(max_deliveries=1)], **FAST)):
        await eventually(lambda: _dead_count(redis, 1), "the job is a dead letter")
    [letter] = await list_dead(redis, STREAM)
    assert letter.error == "UnknownJob: no handler registered for job 'no_such_job'"


async def test_dead_letters_can_be_listed_by_page_dropped_and_requeued_all_at_once(redis: Redis):
    await asyncio.gather(*(enqueue(redis, STREAM, "nope", {"n": n}) for n in range(5)))
    async with running(Worker(redis, Registry(), [config(max_deliveries=1)], **FAST)):
        await eventually(lambda: _dead_count(redis, 5), "all five are dead letters")
    first = await list_dead(redis, STREAM, count=3)
    rest = await list_dead(redis, STREAM, count=3, before=first[-1].entry_id)
    assert len(first) == 3 and len(rest) == 2
    assert first[0].failed_at >= rest[-1].failed_at  # newest first
    assert await drop_dead(redis, STREAM, rest[0].entry_id)
    assert not await drop_dead(redis, STREAM, rest[0].entry_id)
    assert await requeue_all_dead(redis, STREAM) == 4
    assert (await count_dead(redis, STREAM), await redis.xlen(STREAM)) == (0, 4)
    payloads = [json.loads(f[b"payload"])["n"] for _, f in await redis.xrange(STREAM)]
    assert len(payloads) == 4 and rest[0].payload["n"] not in payloads


async def test_stats_show_pending_entries_lag_consumers_and_the_oldest_age(redis: Redis):
    await redis.xgroup_create(STREAM, DEFAULT_GROUP, id="0", mkstream=True)
    for n in range(3):
        await enqueue(redis, STREAM, "x", {"n": n})
    await redis.xreadgroup(DEFAULT_GROUP, "ghost", {STREAM: ">"}, count=2)
    await asyncio.sleep(0.05)
    stats = await stream_stats(redis, STREAM)
    assert (stats.depth, stats.pending, stats.lag) == (3, 2, 1), stats
    assert stats.oldest_pending_age_s is not None and stats.oldest_pending_age_s >= 0.04
    [ghost] = stats.consumers
    assert (ghost.name, ghost.pending) == ("ghost", 2) and ghost.idle_s >= 0.04
    empty = await stream_stats(redis, "test:none")
    assert (empty.depth, empty.pending, empty.lag, empty.consumers) == (0, 0, None, [])


async def test_the_janitor_reclaims_an_entry_from_a_dead_consumer(redis: Redis):
    registry = Registry()
    deliveries: list[int] = []

    @registry.job("x")
    async def x(ctx: JobContext, payload: dict[str, Any]) -> None:
        deliveries.append(ctx.delivery)

    await redis.xgroup_create(STREAM, DEFAULT_GROUP, id="0", mkstream=True)
    await enqueue(redis, STREAM, "x", {})
    # A consumer takes the entry and dies without acking it.
    await redis.xreadgroup(DEFAULT_GROUP, "dead-consumer", {STREAM: ">"}, count=1)
    async with running(Worker(redis, registry, [config(min_idle_s=0.3)], **FAST)):
        await asyncio.sleep(0.15)
        assert deliveries == [], "reclaimed before min_idle_s"
        await eventually(lambda: _true(bool(deliveries)), "the entry is reclaimed")
        await eventually(lambda: _zero(pending_count(redis)), "it is acked")
    assert deliveries == [2]


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def test_a_job_that_keeps_killing_its_workers_becomes_a_dead_letter(redis: Redis):
    registry = Registry()
    ran: list[int] = []

    @registry.job("x")
    async def x(ctx: JobContext, payload: dict[str, Any]) -> None:
        ran.append(ctx.delivery)

    await redis.xgroup_create(STREAM, DEFAULT_GROUP, id="0", mkstream=True)
    entry_id = await enqueue(redis, STREAM, "x", {})
    await redis.xreadgroup(DEFAULT_GROUP, "victim-1", {STREAM: ">"}, count=1)
    for victim in ("victim-2", "victim-3"):  # two more deaths while handling it
        await redis.xclaim(STREAM, DEFAULT_GROUP, victim, 0, [entry_id])
    async with running(Worker(redis, registry, [config(min_idle_s=0.05)], **FAST)):
        await eventually(lambda: _dead_count(redis, 1), "the job is a dead letter")
    [letter] = await list_dead(redis, STREAM)
    assert ran == [] and letter.error.startswith("WorkerLost: 3 deliveries")
    assert (await stream_stats(redis, STREAM)).last_minute.failed == 0


async def test_graceful_shutdown_leaves_unfinished_jobs_unacked(redis: Redis):
    registry = Registry()
    started: list[str] = []

    @registry.job("slow")
    async def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        started.append(ctx.job_id)
        await asyncio.sleep(30)

    ids = {await enqueue(redis, STREAM, "slow", {}) for _ in range(2)}
    worker = Worker(redis, registry, [config()], concurrency=2, **FAST | {"grace_s": 0.2})
    begun = time.monotonic()
    async with running(worker):
        await eventually(lambda: _true(len(started) == 2), "both jobs started")
    assert time.monotonic() - begun < 3
    pending = await redis.xpending_range(STREAM, DEFAULT_GROUP, "-", "+", 10)
    assert {p["message_id"].decode() for p in pending} == ids
    assert worker.processed == 0 and await redis.xlen(STREAM) == 2


async def test_cancelling_a_worker_shuts_it_down_the_same_way(redis: Redis):
    registry = Registry()
    started = asyncio.Event()

    @registry.job("slow")
    async def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(30)

    job_id = await enqueue(redis, STREAM, "slow", {})
    task = asyncio.create_task(Worker(redis, registry, [config()], **FAST | {"grace_s": 0.2}).run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    [pending] = await redis.xpending_range(STREAM, DEFAULT_GROUP, "-", "+", 10)
    assert pending["message_id"].decode() == job_id


async def test_graceful_shutdown_acks_jobs_that_finish_within_the_grace(redis: Redis):
    registry = Registry()
    started = asyncio.Event()

    @registry.job("short")
    async def short(ctx: JobContext, payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(0.3)

    await enqueue(redis, STREAM, "short", {})
    worker = Worker(redis, registry, [config()], **FAST | {"grace_s": 2.0})
    async with running(worker):
        await started.wait()
    assert worker.processed == 1
    assert await pending_count(redis) == 0 and await redis.xlen(STREAM) == 0


async def test_each_keys_jobs_run_one_at_a_time_in_order_across_four_consumers(redis: Redis):
    registry = Registry()
    running_now: defaultdict[str, int] = defaultdict(int)
    most_at_once: defaultdict[str, int] = defaultdict(int)
    rng = random.Random(1)

    @registry.job("say")
    async def say(ctx: JobContext, payload: dict[str, Any]) -> None:
        assert ctx.key is not None
        running_now[ctx.key] += 1
        most_at_once[ctx.key] = max(most_at_once[ctx.key], running_now[ctx.key])
        await asyncio.sleep(rng.random() * 0.006)
        await ctx.redis.rpush(f"test:order:{ctx.key}", payload["n"])
        running_now[ctx.key] -= 1

    keys = [f"openid-{k:02d}" for k in range(20)]
    # Each key 10 times, shuffled, so that a key's messages often sit side by side.
    labels = keys * 10
    rng.shuffle(labels)
    sent: defaultdict[str, list[int]] = defaultdict(list)
    for n, key in enumerate(labels):
        await enqueue(redis, STREAM, "say", {"n": n}, key=key)
        sent[key].append(n)
    clients = [Redis.from_url(REDIS_URL) for _ in range(4)]
    workers = [Worker(c, registry, [config()], concurrency=2, **FAST) for c in clients]
    try:
        async with (
            running(workers[0]),
            running(workers[1]),
            running(workers[2]),
            running(workers[3]),
        ):
            await eventually(lambda: _processed(redis, 200), "all 200 are handled", 20)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    for key in keys:
        order = [int(n) for n in await redis.lrange(f"test:order:{key}", 0, -1)]
        assert order == sent[key], (key, order)
    assert max(most_at_once.values()) == 1, dict(most_at_once)
    assert sum(w.processed for w in workers) == 200
    assert min(w.processed for w in workers) > 0, "a consumer did no work"


async def test_a_retried_job_holds_back_the_later_jobs_of_its_key(redis: Redis):
    registry = Registry()
    log: list[str] = []

    @registry.job("step")
    async def step(ctx: JobContext, payload: dict[str, Any]) -> None:
        n = payload["n"]
        if n == 2 and ctx.delivery < 3:
            log.append(f"{n}!")
            raise RuntimeError("not yet")
        log.append(str(n))

    for n in range(1, 6):
        await enqueue(redis, STREAM, "step", {"n": n}, key="openid-a")
    await enqueue(redis, STREAM, "step", {"n": 9}, key="openid-b")
    worker = Worker(redis, registry, [config(max_deliveries=5)], concurrency=4, **FAST)
    async with running(worker):
        await eventually(lambda: _processed(redis, 6), "all six are handled")
    assert [e for e in log if e != "9"] == ["1", "2!", "2!", "2", "3", "4", "5"]
    assert log.index("9") < log.index("2"), "another key waited for openid-a's retries"
    assert (await stream_stats(redis, STREAM)).parked_keys == 0


async def test_a_dead_letter_releases_its_key_and_a_requeue_joins_the_end(redis: Redis):
    registry = Registry()
    log: list[str] = []

    @registry.job("step")
    async def step(ctx: JobContext, payload: dict[str, Any]) -> None:
        if payload["n"] == 2 and not await ctx.redis.get("test:fixed"):
            log.append("2!")
            raise RuntimeError("poison")
        log.append(str(payload["n"]))

    for n in range(1, 5):
        await enqueue(redis, STREAM, "step", {"n": n}, key="openid-a")
    async with running(Worker(redis, registry, [config(max_deliveries=2)], **FAST)):
        await eventually(lambda: _processed(redis, 3), "the jobs after the dead one ran")
        assert log == ["1", "2!", "2!", "3", "4"]
        await redis.set("test:fixed", 1)
        await enqueue(redis, STREAM, "step", {"n": 5}, key="openid-a")
        await requeue_all_dead(redis, STREAM)
        await eventually(lambda: _processed(redis, 5), "the requeued job ran")
    assert log == ["1", "2!", "2!", "3", "4", "5", "2"]


async def test_a_key_whose_predecessor_was_lost_is_released_after_key_stall_s(redis: Redis):
    registry = Registry()
    log: list[int] = []

    @registry.job("step")
    async def step(ctx: JobContext, payload: dict[str, Any]) -> None:
        log.append(payload["n"])

    lost = await enqueue(redis, STREAM, "step", {"n": 1}, key="openid-a")
    await enqueue(redis, STREAM, "step", {"n": 2}, key="openid-a")
    await redis.xdel(STREAM, lost)  # as if MAXLEN had trimmed it
    cfg = config(key_stall_s=0.4, min_idle_s=0.2)
    async with running(Worker(redis, registry, [cfg], **FAST)):
        await asyncio.sleep(0.2)
        assert log == [] and (await stream_stats(redis, STREAM)).parked_keys == 1
        await eventually(lambda: _true(log == [2]), "the key is released")


async def test_a_worker_refuses_a_socket_timeout_shorter_than_its_blocking_read():
    client = Redis.from_url(REDIS_URL, socket_timeout=0.5)
    with pytest.raises(ValueError, match="must outlast BLOCK"):
        Worker(client, Registry(), [STREAM], block_ms=1000)
    await client.aclose()


def test_a_registry_refuses_a_second_handler_and_names_unknown_jobs():
    registry = Registry()

    @registry.job("a")
    async def a(ctx: JobContext, payload: dict[str, Any]) -> None: ...

    with pytest.raises(ValueError, match="already registered"):
        registry.add("a", a)
    with pytest.raises(UnknownJob, match="'b'"):
        registry.get("b")
    assert registry.names == ["a"]
