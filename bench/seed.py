"""Benchmark of the demo data loader (services.demo.seed) on a scratch PostgreSQL database.

    .venv/bin/python -m bench.seed [--enterprises 20000] [--records 1000000] [--seed 1]

Creates a database named seedtmp_bench_…, migrates it and syncs the catalogue, times
seed_demo() end to end (generation, COPY, fingerprint, audit) and a second, "unchanged" call,
then, as a same-run baseline, the raw asyncpg COPY of the same rows generated beforehand into
the emptied tables. Prints the figures to stdout and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import date

import asyncpg

from bench.common import DEFAULT_URL, Timing, admin_sql, with_database
from infra.db import database, migrate
from services.demo.seed import (
    DEMO_TABLES,
    ENTERPRISE_COLUMNS,
    RECORD_COLUMNS,
    RELATION_COLUMNS,
    DemoGenerator,
    Row,
    SeedResult,
    seed_demo,
)
from services.reports.catalogue import sync_catalogue

BENCH_KEY = "bench-id-hash-key"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    parser.add_argument("--postgres-url", default=DEFAULT_URL, help="any database on the server")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser.parse_args(argv)


async def _seed(
    args: argparse.Namespace, url: str
) -> tuple[SeedResult, SeedResult, dict[str, int]]:
    """seed_demo() twice through the ORM: the load, then the 'unchanged' check."""
    await migrate(url)
    async with database(url):
        await sync_catalogue()
        await admin_sql(url, "CHECKPOINT")  # like the baseline: start without dirty pages
        kwargs = {
            "enterprises": args.enterprises,
            "records": args.records,
            "seed": args.seed,
            "id_hash_key": BENCH_KEY,
            "today": args.today,
        }
        first = await seed_demo(**kwargs, progress=not args.no_progress)
        second = await seed_demo(**kwargs, progress=False)
    conn = await asyncpg.connect(url)
    try:
        department_ids = dict(await conn.fetch("SELECT code, id FROM department"))
    finally:
        await conn.close()
    return first, second, department_ids


def _generate(
    args: argparse.Namespace, department_ids: dict[str, int]
) -> tuple[DemoGenerator, list[Row], float]:
    """The same rows seed_demo() wrote, all in memory, and how long making them took."""
    started = time.perf_counter()
    plan = DemoGenerator(
        enterprises=args.enterprises,
        records=args.records,
        seed=args.seed,
        id_hash_key=BENCH_KEY,
        today=args.today,
        department_ids=department_ids,
    )
    records = [row for chunk in plan.record_chunks() for row in chunk]
    return plan, records, time.perf_counter() - started


async def _raw_copy(url: str, plan: DemoGenerator, records: list[Row]) -> float:
    """asyncpg COPY of pre-generated rows into the emptied tables, in one transaction."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in DEMO_TABLES))
        await conn.execute("CHECKPOINT")  # both runs start without the other's dirty pages
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "enterprise", records=plan.enterprise_rows, columns=list(ENTERPRISE_COLUMNS)
            )
            await conn.copy_records_to_table(
                "enterprise_relation", records=plan.relation_rows, columns=list(RELATION_COLUMNS)
            )
            await conn.copy_records_to_table(
                "record", records=records, columns=list(RECORD_COLUMNS)
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


def _report(
    args: argparse.Namespace, first: SeedResult, second: SeedResult, timings: list[Timing]
) -> None:
    print(
        f"\nseed_demo: enterprises={args.enterprises} records={args.records} seed={args.seed} "
        f"today={args.today} -> {first.relations} relations, fingerprint {first.fingerprint[:16]}…"
    )
    print(f"{'phase':<44}{'rows':>10}{'seconds':>10}{'rows/s':>12}")
    for t in timings:
        print(f"{t.label:<44}{t.rows:>10,}{t.seconds:>10.2f}{t.rate:>12,.0f}")
    ours, raw = timings[0], timings[2]
    print(f"ours / raw COPY (time): {ours.seconds / raw.seconds:.2f}x")
    print(f"second call: status={second.status}, {second.elapsed:.2f} s (fingerprint re-read)")


async def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    name = f"seedtmp_bench_{uuid.uuid4().hex[:8]}"
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{name}"')
    url = with_database(args.postgres_url, name)
    try:
        first, second, department_ids = await _seed(args, url)
        plan, records, generation = _generate(args, department_ids)
        raw = await _raw_copy(url, plan, records)
    finally:
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    rows = first.enterprises + first.relations + first.records
    _report(
        args,
        first,
        second,
        [
            Timing("seed_demo (generate + COPY + fingerprint)", rows, first.elapsed),
            Timing("  generation alone (Python, in memory)", rows, generation),
            Timing("raw asyncpg COPY of the pre-generated rows", rows, raw),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
