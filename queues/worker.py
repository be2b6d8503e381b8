"""The consumer-group worker: read, run, ack after success; retry, reclaim, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.logging import request_id_var
from queues.backoff import Reconnector, backoff_delay
from queues.config import DEFAULT_GROUP, StreamConfig, as_config
from queues.connection import connect_redis
from queues.dead import describe_failure
from queues.envelope import Envelope, text
from queues.registry import JobContext, Registry
from queues.transitions import (
    Delivered,
    bury,
    gate,
    move_due,
    queue_finish,
    release_stalled,
    retry_later,
)

log = logging.getLogger(__name__)

CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
# Consumers that hold nothing and have been silent this long are removed from the group.
FORGET_CONSUMERS_AFTER_S = 3600.0


def consumer_name() -> str:
    """Unique per process: a restarted worker must not inherit a dead one's pending entries."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def worker_redis(redis_url: str, block_ms: int = 1000, concurrency: int = 8) -> Redis:
    """A client for a worker: its socket timeout outlasts the blocking read."""
    return connect_redis(
        redis_url,
        socket_timeout=block_ms / 1000 + 5,
        socket_connect_timeout=2,
        # The pool refuses (rather than waits) past its size: room for every handler and loop.
        max_connections=max(100, 2 * concurrency + 10),
        # One immediate retry replaces a pooled connection that died with a Redis restart;
        # longer outages are paced by the worker's own backoff, not by the client.
        retry=Retry(NoBackoff(), 1),
    )


class Worker:
    """Consumes `streams` with `concurrency` handlers at a time, as one consumer of `group`."""

    def __init__(
        self,
        redis: Redis,
        registry: Registry,
        streams: Sequence[str | StreamConfig],
        *,
        concurrency: int = 8,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        context: Any = None,
        block_ms: int = 1000,
        grace_s: float = 10.0,
        janitor_interval_s: float = 5.0,
        mover_interval_s: float = 0.2,
        reconnect_first_s: float = 0.1,
        reconnect_cap_s: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        timeout = redis.connection_pool.connection_kwargs.get("socket_timeout")
        if timeout is not None and timeout <= block_ms / 1000:
            raise ValueError(f"socket_timeout {timeout}s must outlast BLOCK {block_ms}ms")
        self.redis = redis
        self.registry = registry
        self.streams = {c.name: c for c in map(as_config, streams)}
        self.concurrency = concurrency
        self.group = group
        self.consumer = consumer or consumer_name()
        self.context = context
        self.block_ms = block_ms
        self.grace_s = grace_s
        self.janitor_interval_s = janitor_interval_s
        self.mover_interval_s = mover_interval_s
        self.rng = rng or random.Random()
        self.backoff = {
            loop: Reconnector(reconnect_first_s, reconnect_cap_s, self.rng)
            for loop in ("reader", "acker", "mover", "janitor", "heartbeat")
        }
        self.processed = 0
        self.failed = 0
        # Delivered entries wait here for one of `concurrency` runners (None tells one to quit).
        self._ready: asyncio.Queue[Delivered | None] = asyncio.Queue()
        self._busy = 0
        self._room = asyncio.Event()  # set whenever a runner finishes a job
        self._acks: dict[str, list[Delivered]] = {}
        # Entries this worker holds (queued or running), per stream: the heartbeat keeps them
        # from looking idle, so that min_idle_s can be short without reclaiming live jobs.
        self._held: dict[str, set[str]] = {name: set() for name in self.streams}
        self._ack_ready = asyncio.Event()
        self._stop = asyncio.Event()
        # Loops stop at this flag rather than by cancellation: on Python 3.11 a redis-py call
        # can swallow a CancelledError (asyncio.wait_for), leaving the task running.
        self._quitting = asyncio.Event()
        self._closing = False

    @property
    def connection_errors(self) -> int:
        """Failed Redis calls of all loops since start (each one waited its backoff)."""
        return sum(b.total for b in self.backoff.values())

    def stop(self) -> None:
        """Ask for a graceful shutdown (safe to call from a signal handler)."""
        self._stop.set()

    async def run(self) -> None:
        """Consume until stop() or cancellation; then finish in-flight jobs within grace_s."""
        log.info(
            "worker %s consuming %s as group %s", self.consumer, list(self.streams), self.group
        )
        await self._create_groups()
        runners = [asyncio.create_task(self._runner()) for _ in range(self.concurrency)]
        reader = asyncio.create_task(self._read_loop())
        acker = asyncio.create_task(self._ack_loop())
        chores = [
            asyncio.create_task(self._mover_loop()),
            asyncio.create_task(self._janitor_loop()),
            asyncio.create_task(self._heartbeat_loop()),
        ]
        try:
            await self._stop.wait()
        finally:
            await self._shutdown(reader, runners, acker, chores)

    # Reading and running. A pool of runners rather than a task per job: half the overhead.

    def _free(self) -> int:
        """How many more entries this worker may take on (running or waiting for a runner)."""
        return self.concurrency - self._busy - self._ready.qsize()

    async def _read_loop(self) -> None:
        wanted = dict.fromkeys(self.streams, ">")
        while not self._quitting.is_set():
            self._room.clear()
            free = self._free()
            if free <= 0:
                # Entries read now would only wait, and could be reclaimed while they do.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), self.block_ms / 1000)
                continue
            try:
                reply = await self.redis.xreadgroup(
                    self.group, self.consumer, wanted, count=free, block=self.block_ms
                )
            except Exception as exc:
                await self._recover(exc, "reader")
                continue
            self.backoff["reader"].reset()
            for stream, entries in reply or []:
                for entry_id, fields in entries:
                    self._start(self.streams[text(stream)], text(entry_id), fields, 1)

    def _start(
        self, config: StreamConfig, entry_id: str, fields: Mapping[Any, Any], times: int
    ) -> None:
        envelope = Envelope.from_entry(entry_id, fields)
        self._held[config.name].add(entry_id)
        self._ready.put_nowait(Delivered(config, entry_id, envelope, times))

    async def _runner(self) -> None:
        while (d := await self._ready.get()) is not None:
            self._busy += 1
            try:
                await self._process(d)
            finally:
                self._held[d.config.name].discard(d.entry_id)
                self._busy -= 1
                self._ready.task_done()
                self._room.set()
        self._ready.task_done()

    async def _process(self, d: Delivered) -> None:
        request_id_var.set(d.envelope.job_id)
        try:
            if not await gate(self.redis, self.group, d):
                log.debug("job waits for an earlier job of key %s", d.envelope.key)
                return
            if d.delivery > d.config.max_deliveries:
                # Earlier deliveries never reported back: the job may be killing workers.
                error = f"WorkerLost: {d.delivery - 1} deliveries ended without an outcome"
                log.error("job %s gave up: %s", d.envelope.job, error)
                await bury(self.redis, self.group, d, error, "", failed=False)
                return
            await self._run_handler(d)
        except CONNECTION_ERRORS as exc:
            # The entry stays pending: the janitor (here or elsewhere) reclaims it later.
            log.warning("Redis unreachable while finishing job %s: %s", d.envelope.job, exc)
        except Exception:
            log.exception("job %s left pending after an unexpected error", d.envelope.job)

    async def _run_handler(self, d: Delivered) -> None:
        env = d.envelope
        ctx = JobContext(
            redis=self.redis,
            settings=self.context,
            stream=d.config.name,
            job=env.job,
            job_id=env.job_id,
            entry_id=d.entry_id,
            delivery=d.delivery,
            key=env.key,
        )
        try:
            await self.registry.get(env.job)(ctx, env.decoded_payload())
        except asyncio.CancelledError:
            log.warning("job %s interrupted by shutdown: left un-acked for reclaiming", env.job)
            raise
        except Exception as exc:  # any handler failure is retried, then dead-lettered
            self.failed += 1
            await self._handle_failure(d, exc)
            return
        self.processed += 1
        self._acks.setdefault(d.config.name, []).append(d)
        self._ack_ready.set()

    async def _handle_failure(self, d: Delivered, exc: Exception) -> None:
        error, trace = describe_failure(exc)
        limit = d.config.max_deliveries
        if d.delivery >= limit:
            log.error(
                "job %s failed %d/%d, now a dead letter: %s",
                d.envelope.job,
                d.delivery,
                limit,
                error,
            )
            await bury(self.redis, self.group, d, error, trace)
            return
        delay = backoff_delay(d.delivery, d.config.backoff_base_s, d.config.backoff_cap_s, self.rng)
        log.warning(
            "job %s failed %d/%d, retry in %.2fs: %s",
            d.envelope.job,
            d.delivery,
            limit,
            delay,
            error,
        )
        await retry_later(self.redis, self.group, d, delay, error)

    # Acks, batched: whatever finished while the previous batch was in flight goes in one trip.

    async def _ack_loop(self) -> None:
        while not (self._closing and not self._acks):
            await self._ack_ready.wait()
            self._ack_ready.clear()
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        batch, self._acks = self._acks, {}
        if not batch:
            return
        pipe = self.redis.pipeline(transaction=False)
        for done in batch.values():
            await queue_finish(pipe, self.group, done)
        try:
            await pipe.execute()
        except Exception as exc:
            # The effects are committed: acking late beats running the jobs again.
            for stream, done in batch.items():
                self._acks[stream] = done + self._acks.get(stream, [])
            self._ack_ready.set()
            await self._recover(exc, "acker")
            return
        self.backoff["acker"].reset()

    # Chores: due retries back onto the stream, reclaiming, stalled keys, old consumers.

    async def _mover_loop(self) -> None:
        while not self._quitting.is_set():
            try:
                for config in self.streams.values():
                    await move_due(self.redis, config)
            except Exception as exc:
                await self._recover(exc, "mover")
                continue
            self.backoff["mover"].reset()
            await self._pause(self.mover_interval_s)

    async def _janitor_loop(self) -> None:
        while not self._quitting.is_set():
            try:
                for config in self.streams.values():
                    await self._reclaim(config)
                    for key, seq in await release_stalled(self.redis, config):
                        log.warning("key %s of %s stalled: released job #%d", key, config.name, seq)
                    await self._forget_idle_consumers(config)
            except Exception as exc:
                await self._recover(exc, "janitor")
                continue
            self.backoff["janitor"].reset()
            await self._pause(self.janitor_interval_s)

    async def _pause(self, seconds: float) -> None:
        """Sleep, waking at once for shutdown."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quitting.wait(), seconds)

    async def _heartbeat_loop(self) -> None:
        interval = min(c.heartbeat_s for c in self.streams.values())
        while not self._quitting.is_set():
            await self._pause(interval)
            try:
                await self._beat()
            except Exception as exc:
                await self._recover(exc, "heartbeat")
                continue
            self.backoff["heartbeat"].reset()

    async def _beat(self) -> None:
        """Reset the idle time of every entry this worker holds (XCLAIM to itself, JUSTID: the
        delivery count is unchanged). An entry acked meanwhile is no longer pending and is left
        alone by XCLAIM; a dead worker stops beating and its entries are reclaimed after
        min_idle_s."""
        held = {name: sorted(ids) for name, ids in self._held.items() if ids}
        if not held:
            return
        pipe = self.redis.pipeline(transaction=False)
        for name, ids in held.items():
            pipe.xclaim(name, self.group, self.consumer, 0, ids, justid=True)
        await pipe.execute()

    async def _reclaim(self, config: StreamConfig) -> None:
        """Claim entries that another consumer has held longer than min_idle_s (it is dead)."""
        free = self._free()
        if free <= 0 or self._quitting.is_set():
            return
        _, entries, deleted = await self.redis.xautoclaim(
            config.name, self.group, self.consumer, int(config.min_idle_s * 1000), count=free
        )
        if deleted:
            log.error("%d pending entries of %s were trimmed unhandled", len(deleted), config.name)
        if not entries:
            return
        # XAUTOCLAIM does not say how often each entry was delivered; XPENDING does.
        pipe = self.redis.pipeline(transaction=False)
        for entry_id, _ in entries:
            pipe.xpending_range(config.name, self.group, min=entry_id, max=entry_id, count=1)
        times = [rows[0]["times_delivered"] if rows else 1 for rows in await pipe.execute()]
        log.warning("reclaimed %d stuck entries of %s", len(entries), config.name)
        for (entry_id, fields), n in zip(entries, times, strict=True):
            self._start(config, text(entry_id), fields, n)

    async def _forget_idle_consumers(self, config: StreamConfig) -> None:
        for c in await self.redis.xinfo_consumers(config.name, self.group):
            name = text(c["name"])
            idle_s = c["idle"] / 1000
            if name != self.consumer and c["pending"] == 0 and idle_s > FORGET_CONSUMERS_AFTER_S:
                await self.redis.xgroup_delconsumer(config.name, self.group, name)

    # Redis trouble and shutdown

    async def _create_groups(self) -> None:
        while not self._stop.is_set():
            try:
                for name in self.streams:
                    await self._create_group(name)
                return
            except Exception as exc:
                await self._recover(exc, "reader")

    async def _create_group(self, stream: str) -> None:
        try:
            await self.redis.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _recover(self, exc: Exception, loop: str) -> None:
        """After a failed Redis call: recreate a vanished group, or wait out an outage."""
        if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
            # Redis came back empty (no persistence): the stream and group must be made again.
            log.warning("%s: stream or group gone, recreating it", loop)
            with contextlib.suppress(Exception):
                for name in self.streams:
                    await self._create_group(name)
                return
        backoff = self.backoff[loop]
        if isinstance(exc, CONNECTION_ERRORS):
            log.warning("%s: Redis unreachable (%s), attempt %d", loop, exc, backoff.failures + 1)
        else:
            log.error("%s: unexpected error, backing off", loop, exc_info=exc)
        await backoff.wait()

    async def _shutdown(
        self,
        reader: asyncio.Task[None],
        runners: list[asyncio.Task[None]],
        acker: asyncio.Task[None],
        chores: list[asyncio.Task[None]],
    ) -> None:
        self._quitting.set()
        # The reader notices within one BLOCK; what it still receives runs within the grace.
        await _settle([reader, *chores], self.block_ms / 1000 + 1)
        try:
            await asyncio.wait_for(self._ready.join(), self.grace_s)
        except TimeoutError:
            # Interrupted and never-started entries stay un-acked: never ack unfinished work.
            unfinished = self._busy + self._ready.qsize()
            log.warning("%d job(s) unfinished after %.1fs grace", unfinished, self.grace_s)
            await _settle(runners, 0)
        for _ in runners:
            self._ready.put_nowait(None)
        await _settle(runners, 1.0)
        self._closing = True
        self._ack_ready.set()
        if await _settle([acker], 5.0):
            log.warning("could not ack finished jobs: they will run again elsewhere")
        log.info("worker %s stopped", self.consumer)


async def _settle(tasks: Collection[asyncio.Task[None]], timeout: float) -> set[asyncio.Task[None]]:
    """Let tasks finish within `timeout`, then cancel the rest; returns those cancelled."""
    if not tasks:
        return set()
    _, late = await asyncio.wait(set(tasks), timeout=timeout)
    if late:
        for task in late:
            task.cancel()
        # A cancellation swallowed inside redis-py must not hang the shutdown.
        await asyncio.wait(late, timeout=1.0)
    return late


class WorkerSettings(Protocol):
    """What the worker needs of the settings (config.settings.Settings has it)."""

    @property
    def redis_target(self) -> str: ...


async def run_worker(
    redis_url: str,
    registry: Registry,
    streams: Sequence[str | StreamConfig],
    concurrency: int = 8,
    *,
    context: Any = None,
    handle_signals: bool = True,
    **options: Any,
) -> None:
    """Run one Worker on its own Redis client until SIGTERM/SIGINT, stop() or cancellation.

    `options` are Worker's keyword arguments (group, block_ms, grace_s, janitor_interval_s, ...).
    """
    redis = worker_redis(redis_url, int(options.get("block_ms", 1000)), concurrency)
    worker = Worker(redis, registry, streams, concurrency=concurrency, context=context, **options)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await redis.aclose()


def run_worker_process(
    settings: WorkerSettings,
    streams: Sequence[str | StreamConfig],
    concurrency: int,
    registry: Registry,
    *,
    lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    **options: Any,
) -> int:
    """Blocking entry point for `run.py worker`; returns the exit status.

    `lifespan` opens what the handlers need for the worker's lifetime. Queues sit below services,
    so the caller passes the ORM in: ``lifespan=lambda: infra.db.database(s.database_url)``.
    Handlers get `settings` as ``ctx.settings``.
    """

    async def main() -> None:
        async with lifespan() if lifespan else contextlib.nullcontext():
            await run_worker(
                settings.redis_target, registry, streams, concurrency, context=settings, **options
            )

    asyncio.run(main())
    return 0
