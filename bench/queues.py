"""Queue benchmark: the queues layer against a raw XADD + XREADGROUP + XACK loop, no-op jobs.

Run from the repository root (as a module: a file named queues.py must not shadow the package):

    .venv/bin/python -m bench.queues [--redis-url redis://127.0.0.1:6379/12] [--jobs 20000]

For each setup (raw loop and layer, with 1 and 2 consumer processes) it measures
- throughput: a backlog of --jobs entries is drained, timed from the "go" to the last ack;
- latency: jobs enqueued at half that rate for --paced-seconds, enqueue to handler, p50/p99.
The Redis database given (default 12, private to the benchmark) is flushed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from queues import DEFAULT_MAXLEN, JobContext, Registry, StreamConfig, run_worker
from queues.envelope import first_fields

STREAM = "bench:jobs"
GROUP = "workers"
GO_KEY = "bench:go"
READY_KEY = "bench:ready"
ROOT = Path(__file__).resolve().parent.parent


# Consumers (each runs in a process of its own)


class Recorder:
    """Latencies of paced jobs, kept in memory and written out at the end."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.handled = 0

    def saw(self, payload: dict[str, Any]) -> None:
        self.handled += 1
        if payload.get("paced"):
            self.latencies.append(time.time() - payload["t"])

    def save(self, path: str) -> None:
        Path(path).write_text(json.dumps({"latencies": self.latencies, "handled": self.handled}))


async def wait_for_go(redis: Redis) -> None:
    await redis.incr(READY_KEY)
    while not await redis.exists(GO_KEY):
        await asyncio.sleep(0.005)


async def consume_raw(redis_url: str, out: str, name: str) -> None:
    """The baseline: read a batch, 'handle' each entry, ack the batch in one call."""
    redis = Redis.from_url(redis_url)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    recorder = Recorder()
    await wait_for_go(redis)
    while not stopping.is_set():
        reply = await redis.xreadgroup(GROUP, name, {STREAM: ">"}, count=100, block=200)
        for _, entries in reply or []:
            for _, fields in entries:
                recorder.saw(json.loads(fields[b"payload"]))
            await redis.xack(STREAM, GROUP, *[entry_id for entry_id, _ in entries])
    recorder.save(out)
    await redis.aclose()


async def consume_layer(redis_url: str, out: str, concurrency: int) -> None:
    registry = Registry()
    recorder = Recorder()

    @registry.job("noop")
    async def noop(ctx: JobContext, payload: dict[str, Any]) -> None:
        recorder.saw(payload)

    redis = Redis.from_url(redis_url)
    await wait_for_go(redis)
    await redis.aclose()
    await run_worker(redis_url, registry, [StreamConfig(STREAM)], concurrency, block_ms=200)
    recorder.save(out)


# The driver


@dataclass
class Result:
    setup: str
    throughput: float
    paced_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float


async def create_group(redis: Redis) -> None:
    try:
        await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def fill(redis: Redis, jobs: int) -> None:
    """The backlog, in the layer's entry format (a raw consumer reads the same fields)."""
    fields = dict(pairs(first_fields("noop", {"t": time.time()}, None)))
    for start in range(0, jobs, 1000):
        pipe = redis.pipeline(transaction=False)
        for _ in range(start, min(jobs, start + 1000)):
            pipe.xadd(STREAM, fields)
        await pipe.execute()


async def drained(redis: Redis, total: int) -> bool:
    info = next(g for g in await redis.xinfo_groups(STREAM) if g["name"] == GROUP.encode())
    read = info["entries-read"] or 0
    return read >= total and info["pending"] == 0 and info["lag"] == 0


async def wait_drained(redis: Redis, total: int, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while not await drained(redis, total):
        if time.monotonic() > deadline:
            raise RuntimeError(f"consumers did not drain {total} jobs in {timeout}s")
        await asyncio.sleep(0.002)
    return time.time()


async def produce_paced(redis: Redis, rate: float, seconds: float) -> int:
    """Enqueue at `rate` per second, each job stamped with its enqueue time.

    Each millisecond's jobs go in one pipeline of the XADDs that enqueue() sends for a job
    without key, so that the producer is cheap enough not to starve the consumers of CPU.
    """
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - sent
        if due > 0:
            fields = dict(pairs(first_fields("noop", {"t": time.time(), "paced": True}, None)))
            pipe = redis.pipeline(transaction=False)
            for _ in range(due):
                pipe.xadd(STREAM, fields, maxlen=DEFAULT_MAXLEN, approximate=True)
            await pipe.execute()
            sent += due
        await asyncio.sleep(0.0005)
    return sent


def pairs(flat: list[str]) -> list[tuple[str, str]]:
    return list(zip(flat[::2], flat[1::2], strict=True))


def start_consumers(
    mode: str, processes: int, redis_url: str, concurrency: int, tmp: Path
) -> list[tuple[subprocess.Popen[bytes], str]]:
    started = []
    for n in range(processes):
        out = str(tmp / f"{mode}-{processes}-{n}.json")
        cmd = [sys.executable, "-m", "bench.queues", "--redis-url", redis_url]
        cmd += ["--consume", mode, "--out", out, "--concurrency", str(concurrency)]
        started.append((subprocess.Popen(cmd, cwd=ROOT), out))
    return started


async def run_setup(
    redis: Redis, mode: str, processes: int, args: argparse.Namespace, tmp: Path
) -> Result:
    await redis.flushdb()
    await create_group(redis)
    consumers = start_consumers(mode, processes, args.redis_url, args.concurrency, tmp)
    try:
        while int(await redis.get(READY_KEY) or 0) < processes:
            await asyncio.sleep(0.01)
        await fill(redis, args.jobs)
        go = time.time()
        await redis.set(GO_KEY, 1)
        throughput = args.jobs / (await wait_drained(redis, args.jobs) - go)
        rate = throughput / 2
        sent = await produce_paced(redis, rate, args.paced_seconds)
        await wait_drained(redis, args.jobs + sent)
    finally:
        for process, _ in consumers:
            process.send_signal(signal.SIGTERM)
        for process, _ in consumers:
            process.wait(30)
    latencies = sorted(
        x for _, out in consumers for x in json.loads(Path(out).read_text())["latencies"]
    )
    assert len(latencies) == sent, (len(latencies), sent)
    setup = f"{'raw loop' if mode == 'raw' else 'queues'} x{processes}"
    return Result(
        setup=setup,
        throughput=throughput,
        paced_rate=sent / args.paced_seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        max_ms=latencies[-1] * 1000,
    )


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\n{args.jobs} no-op jobs drained; then paced at half that rate for {args.paced_seconds}s"
    )
    print(f"(queues: concurrency {args.concurrency} per process; raw: XREADGROUP COUNT 100)\n")
    head = f"{'setup':<13}{'jobs/s':>9}{'vs raw':>8}{'paced/s':>9}"
    head += f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
    print(head)
    print("-" * len(head))
    raw = {r.setup.split()[-1]: r.throughput for r in results if r.setup.startswith("raw")}
    for r in results:
        ratio = r.throughput / raw[r.setup.split()[-1]]
        print(
            f"{r.setup:<13}{r.throughput:>9.0f}{ratio:>7.0%} {r.paced_rate:>8.0f}"
            f"{r.p50_ms:>8.2f}{r.p99_ms:>8.2f}{r.max_ms:>8.2f}"
        )


async def drive(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis_url)
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for mode, processes in [("raw", 1), ("layer", 1), ("raw", 2), ("layer", 2)]:
                results.append(await run_setup(redis, mode, processes, args, Path(tmp)))
                print(f"  done: {results[-1].setup}", file=sys.stderr)
    finally:
        await redis.flushdb()
        await redis.aclose()
    print_table(results, args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    )
    parser.add_argument("--jobs", type=int, default=30_000)
    parser.add_argument("--paced-seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--consume", choices=["raw", "layer"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consume == "raw":
        asyncio.run(consume_raw(args.redis_url, args.out, f"raw-{os.getpid()}"))
    elif args.consume == "layer":
        asyncio.run(consume_layer(args.redis_url, args.out, args.concurrency))
    else:
        asyncio.run(drive(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
