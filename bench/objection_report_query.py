"""What the 异议处理中 mark costs the report query, on PostgreSQL.

    .venv/bin/python -m bench.objection_report_query [--records 1000000] [--objections 20000]

Creates a scratch database objbench_…, loads the demo data (seed_demo), opens --objections tickets
on random records (submitted or accepted, so every one of them marks its record), and then times,
for a sample of enterprises with records in a five-year span over all 40 domains, the report query
exactly as services.reports.snapshot builds it (with the IN over open objections) against the same
query without that column (the query without the mark), interleaved, raw through asyncpg. Prints
p50/p99 of each and their ratio. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import date, timedelta

import asyncpg

from bench.common import DEFAULT_URL, admin_sql, with_database
from config.catalogue import DOMAINS_BY_NUMBER
from infra.db import database, migrate
from services.demo.seed import seed_demo
from services.reports.catalogue import sync_catalogue
from services.reports.snapshot import POSTGRES_REPORT_QUERY, _under_objection

ALL_DOMAINS = sorted(DOMAINS_BY_NUMBER)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_objections(conn: asyncpg.Connection, count: int, seed: int) -> None:
    rows = await conn.fetch(
        "SELECT id, enterprise_id, domain_id, department_id FROM record ORDER BY id"
    )
    chosen = random.Random(seed).sample(list(rows), min(count, len(rows)))
    today = date.today()
    await conn.copy_records_to_table(
        "objection",
        columns=[
            "ticket_no",
            "query_code",
            "enterprise_id",
            "record_id",
            "domain_id",
            "kind",
            "text",
            "attachments",
            "status",
            "department_id",
            "channel",
            "accept_due",
            "resolve_due",
        ],
        records=[
            (
                f"YY{i:014d}",
                "ABC234",
                r["enterprise_id"],
                r["id"],
                r["domain_id"],
                "correction",
                "异议",
                "[]",
                "submitted" if i % 2 else "accepted",
                r["department_id"],
                "miniprogram",
                today,
                today + timedelta(days=7),
            )
            for i, r in enumerate(chosen)
        ],
    )


async def run(args: argparse.Namespace) -> None:
    name = f"objbench_{uuid.uuid4().hex[:8]}"
    url = with_database(args.postgres_url, name)
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{name}"')
    try:
        await migrate(url)
        async with database(url):
            await sync_catalogue()
            await seed_demo(enterprises=args.enterprises, records=args.records, seed=args.seed,
                            id_hash_key="bench", today=date.today())  # fmt: skip
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "ALTER TABLE objection ALTER COLUMN created_at SET DEFAULT now(),"
                " ALTER COLUMN updated_at SET DEFAULT now()"
            )
            await open_objections(conn, args.objections, args.seed)
            await conn.execute("VACUUM ANALYZE")
            end = date.today()
            start = max(date(2020, 1, 1), end.replace(year=end.year - 5) + timedelta(days=1))
            ids = [r[0] for r in await conn.fetch(
                "SELECT DISTINCT enterprise_id FROM record WHERE decision_date BETWEEN $1 AND $2",
                start, end)]  # fmt: skip
            sample = random.Random(args.seed).sample(ids, min(args.runs, len(ids)))
            with_mark = POSTGRES_REPORT_QUERY
            without = with_mark.replace(f", {_under_objection('= ANY($1)')}", "")
            assert without != with_mark
            marked_rows = 0
            times: dict[str, list[float]] = {"with": [], "without": []}
            for round_ in range(2):  # the first round warms the buffers and is not counted
                for i, eid in enumerate(sample):
                    values = [[eid], ALL_DOMAINS, start, end, "revoked"]
                    order = (("with", with_mark), ("without", without))
                    for label, sql in order if i % 2 == 0 else order[::-1]:
                        began = time.perf_counter()
                        rows = await conn.fetch(sql, *values)
                        took = time.perf_counter() - began
                        if round_:
                            times[label].append(took)
                            if label == "with":
                                marked_rows += sum(1 for r in rows if r[-1])
        finally:
            await conn.close()
    finally:
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"records {args.records:,}, open objections {args.objections:,}, {len(sample)}"
        f" enterprises x 40 domains, 5 years; marked rows seen: {marked_rows}"
    )
    print(f"{'query':<36}{'p50 ms':>9}{'p99 ms':>9}")
    for label, title in (
        ("without", "without the mark (baseline)"),
        ("with", "with the open-objection IN"),
    ):
        samples = times[label]
        print(f"{title:<36}{pct(samples, 0.5) * 1000:>9.3f}{pct(samples, 0.99) * 1000:>9.3f}")
    ratio = statistics.median(times["with"]) / statistics.median(times["without"])
    print(f"ratio of medians: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--objections", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=DEFAULT_URL)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
