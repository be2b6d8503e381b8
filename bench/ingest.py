"""Benchmark of POST /api/dept/records on PostgreSQL, against raw COPY of the same rows.

    .venv/bin/python -m bench.ingest [--batches 10] [--batch-rows 10000] [--big-rows 50000]

Creates a scratch database named ingesttmp_…, migrates it, syncs the catalogue and seeds demo
enterprises (few records), then starts `run.py serve` on it as a subprocess and pushes, as
市市场监管局, JSON-lines batches with aiohttp:
- `--batches` batches of `--batch-rows` new records, one after the other (created);
- the same batches again (all unchanged: the idempotent re-push);
- the same number of batches from 4 clients at once, new records;
- one request of `--big-rows` rows, during which the server's peak RSS is read (VmHWM).
As the physical baseline, in the same run, the first phase's rows are written again by raw
asyncpg COPY into the emptied record table, one COPY (and transaction) per batch. Prints a
table and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.common import DEFAULT_URL, Timing, admin_sql, with_database
from config.catalogue import EARLIEST_DATE
from infra.db import database, migrate
from models.enums import RecordKind, RecordStatus
from services.accounts.department_keys import create_department_key
from services.demo.seed import RECORD_COLUMNS as SEED_RECORD_COLUMNS
from services.demo.seed import seed_demo
from services.ingest.content import record_content_hash
from services.reports.catalogue import sync_catalogue

ROOT = Path(__file__).resolve().parent.parent
DEPARTMENT = "samr"
DOMAINS = (27, 33, 34)  # what 市市场监管局 may push
VIOLATIONS = (
    "未按规定公示年度报告",
    "销售不符合食品安全标准的食品",
    "未取得许可从事经营活动",
    "虚假宣传",
    "使用未经检定的计量器具",
    "侵犯注册商标专用权",
    "生产销售假劣药品",
)
RECORD_COLUMNS = SEED_RECORD_COLUMNS[1:]  # all but the id


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--big-rows", type=int, default=50_000)
    parser.add_argument("--enterprises", type=int, default=2_000)
    parser.add_argument("--postgres-url", default=DEFAULT_URL, help="any database on the server")
    return parser.parse_args(argv)


def make_rows(usccs: list[str], count: int, prefix: str, seed: int) -> list[dict[str, Any]]:
    """Plausible records of 市市场监管局: ~300 bytes of JSON each."""
    rng = random.Random(seed)
    span = (date.today() - EARLIEST_DATE).days
    kinds = [RecordKind.ADMINISTRATIVE_PENALTY] * 8 + [RecordKind.ADMINISTRATIVE_ENFORCEMENT]
    rows = []
    for i in range(count):
        day = EARLIEST_DATE + timedelta(days=rng.randrange(span))
        kind = rng.choice(kinds)
        procedure = {"procedure": "ordinary"} if kind is RecordKind.ADMINISTRATIVE_PENALTY else {}
        rows.append(
            {
                **procedure,
                "uscc": rng.choice(usccs),
                "domain": rng.choice(DOMAINS),
                "kind": kind.value,
                "decision_no": f"渝市监罚〔{day.year}〕{rng.randrange(1, 9999)}号",
                "authority": "重庆市市场监督管理局",
                "decision_date": day.isoformat(),
                "summary": f"因{rng.choice(VIOLATIONS)}，被处以警告并罚款"
                f"{rng.randrange(1, 500) * 1000:,}元。",
                "status": RecordStatus.IN_FORCE.value,
                "source_ref": f"{prefix}-{i:08d}",
            }
        )
    return rows


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


async def _prepare(url: str, enterprises: int) -> tuple[str, list[str], dict[str, int], int]:
    await migrate(url)
    async with database(url):
        await sync_catalogue()
        await seed_demo(
            enterprises=enterprises, records=200, seed=1, id_hash_key="bench", progress=False
        )
        key = (await create_department_key(DEPARTMENT, "bench")).key
    conn = await asyncpg.connect(url)
    try:
        ids = {r["uscc"]: r["id"] for r in await conn.fetch("SELECT id, uscc FROM enterprise")}
        department_id = await conn.fetchval("SELECT id FROM department WHERE code=$1", DEPARTMENT)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return key, sorted(ids), ids, department_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _wait_up(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/healthz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


async def _push(session: aiohttp.ClientSession, base: str, key: str, body: bytes) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    async with session.post(f"{base}/api/dept/records", data=body, headers=headers) as r:
        answer = await r.json()
        if r.status != 200 or answer["counts"]["rejected"]:
            raise RuntimeError(f"push failed: {r.status} {str(answer)[:500]}")
        return answer


async def _timed_pushes(
    session: aiohttp.ClientSession, base: str, key: str, bodies: list[bytes], clients: int
) -> float:
    queue = list(reversed(bodies))

    async def client() -> None:
        while queue:
            await _push(session, base, key, queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


async def _raw_copy(
    url: str, rows: list[dict[str, Any]], ids: dict[str, int], department_id: int, size: int
) -> float:
    """COPY of the same rows into the emptied record table, a transaction per batch."""
    now = datetime.now(UTC)
    records = [
        (
            ids[r["uscc"]], r["domain"], department_id, r["source_ref"], r["kind"],
            r["decision_no"], r["authority"], date.fromisoformat(r["decision_date"]),
            r["summary"], r["status"], 1, record_content_hash(department=DEPARTMENT, **r), now,
            r.get("procedure"), None,
        )
        for r in rows
    ]  # fmt: skip
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE record_version, record CASCADE")
        await conn.execute("CHECKPOINT")
        started = time.perf_counter()
        for i in range(0, len(records), size):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "record", records=records[i : i + size], columns=list(RECORD_COLUMNS)
                )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def _bench(args: argparse.Namespace, url: str, work: Path) -> tuple[list[Timing], dict]:
    key, usccs, ids, department_id = await _prepare(url, args.enterprises)
    n, size = args.batches, args.batch_rows
    first = make_rows(usccs, n * size, "BENCH-A", 1)
    parallel = make_rows(usccs, n * size, "BENCH-B", 2)
    big = make_rows(usccs, args.big_rows, "BENCH-C", 3)
    batches = [ndjson(first[i : i + size]) for i in range(0, len(first), size)]
    parallel_batches = [ndjson(parallel[i : i + size]) for i in range(0, len(parallel), size)]
    big_body = ndjson(big)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "YUCREDIT_SECRETS_FILE": str(work / "secrets.env"),
    }
    server = subprocess.Popen(
        [sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    memory: dict[str, float] = {}
    try:
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await _wait_up(session, base)
            memory["idle"] = _rss_mib(server.pid, "VmRSS")
            created = await _timed_pushes(session, base, key, batches, 1)
            again = await _timed_pushes(session, base, key, batches, 1)
            four = await _timed_pushes(session, base, key, parallel_batches, 4)
            memory["before_big"] = _rss_mib(server.pid, "VmHWM")
            one_big = await _timed_pushes(session, base, key, [big_body], 1)
            memory["peak"] = _rss_mib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)
    copy = await _raw_copy(url, first, ids, department_id, size)
    rows = n * size
    timings = [
        Timing(f"API, {n} batches of {size:,}, new records", rows, created),
        Timing(f"API, the same {n} batches again (unchanged)", rows, again),
        Timing(f"API, {n} batches of {size:,} from 4 clients at once", rows, four),
        Timing(f"API, one request of {args.big_rows:,} rows", args.big_rows, one_big),
        Timing(f"raw asyncpg COPY, {n} x {size:,} rows (baseline)", rows, copy),
    ]
    return timings, memory


def _report(args: argparse.Namespace, timings: list[Timing], memory: dict[str, float]) -> None:
    copy = timings[-1]
    print(f"\n{'phase':<54}{'rows':>9}{'seconds':>9}{'rows/s':>10}{'vs COPY':>9}")
    for t in timings:
        ratio = t.rate / copy.rate
        print(f"{t.label:<54}{t.rows:>9,}{t.seconds:>9.2f}{t.rate:>10,.0f}{ratio:>9.0%}")
    print(
        f"server RSS: {memory['idle']:.0f} MiB idle, peak {memory['before_big']:.0f} MiB before "
        f"and {memory['peak']:.0f} MiB after the {args.big_rows:,}-row request (VmHWM)"
    )


async def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    name = f"ingesttmp_{uuid.uuid4().hex[:8]}"
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{name}"')
    url = with_database(args.postgres_url, name)
    try:
        with tempfile.TemporaryDirectory() as work:
            timings, memory = await _bench(args, url, Path(work))
    finally:
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _report(args, timings, memory)


if __name__ == "__main__":
    asyncio.run(main())
