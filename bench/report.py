"""Report benchmark: assembly, PDF, card and queue throughput on PostgreSQL.

Run from the repository root (as a module, so that the worker processes can import it):

    .venv/bin/python -m bench.report [--enterprises 20000] [--records 1000000]

It creates a scratch database reportbench_…, migrates it, syncs the catalogue and loads the demo
data with seed_demo (1,000,000 records by default), then measures, each against a baseline taken
in the same run:

- snapshot assembly, all 40 domains over 5 years (today-5y+1d .. today, never before 2020-01-01):
  assemble_sections + build_snapshot + canonical JSON + SHA-256, per enterprise, p50 and p99;
  baseline: the one SQL query it needs, sent raw through an asyncpg pool like ours (also shown:
  on a connection of its own), plus the same building (sections_from_rows, build_snapshot) and
  hashing. Target: at most 1.3x.
- PDF: issue() (assembly, data-as-of, HTML, WeasyPrint, PAdES seal, card, storage, ORM writes);
  baseline: weasyprint.HTML(string=html).write_pdf() on the same HTML in this process.
  Target: p50 at most 1.3x.
- PNG card: view_from_snapshot + render_card, p50 under 80 ms.
- throughput: request_report -> reports:render -> 2 worker processes (Worker + build_registry),
  reports per minute; baseline: 2 processes running only the bare engine on the same HTML.
  Target: at least 70%.

The Redis database given (default 13, private to the benchmark) is flushed before and after; the
scratch database is dropped at the end, also on error. Keys, PKI and PDFs live in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing
import os
import platform
import queue
import random
import shlex
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.common import admin_sql, with_database
from bot.engine import handle
from config.catalogue import DOMAINS_BY_NUMBER, EARLIEST_DATE
from config.rule_sets import ARREARS_DOMAINS, CQ_2024_89
from config.settings import Settings
from infra.db import PooledConnection, database, migrate
from models.enterprise import Enterprise
from models.enums import RecordStatus, RelatedRole, ReportStatus
from models.report import Report
from queues.worker import Worker, worker_redis
from render import render_card, render_html, view_from_snapshot
from services.demo.seed import seed_demo
from services.jobs import build_registry, data_as_of_for_report
from services.reports.catalogue import sync_catalogue
from services.reports.issuing import (
    RENDER_STREAM,
    ReportRequest,
    in_render_thread,
    issue,
    request_report,
)
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner
from services.reports.snapshot import (
    POSTGRES_REPORT_QUERY,
    assemble_sections,
    build_snapshot,
    canonical_json,
    related_enterprises,
    sections_from_rows,
    sha256_hex,
)
from services.reports.span import Span, check_span

DEFAULT_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
DEFAULT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BENCH_KEY = "bench-id-hash-key"
ALL_DOMAINS = sorted(DOMAINS_BY_NUMBER)
SPAN_YEARS = 5

# The one query assembly needs, exactly as services.reports.snapshot sends it: the baseline
# of assembly.
RAW_SQL = POSTGRES_REPORT_QUERY

T = TypeVar("T")
Enterprises = list[tuple[Enterprise, list[tuple[Enterprise, RelatedRole]]]]


# Small helpers


def pct(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (as bench/render does)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def timed(make: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = await make()
    return time.perf_counter() - started, value


def five_year_span(today: date) -> Span:
    """today-5y+1d .. today; check_span refuses (rather than clamps) a start before 2020."""
    try:
        start = today.replace(year=today.year - SPAN_YEARS)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - SPAN_YEARS, day=28)
    start = max(EARLIEST_DATE, date.fromordinal(start.toordinal() + 1))
    return check_span(start, today, today)


# Results


@dataclass
class Figures:
    seed_s: float = 0.0
    assembly: list[float] = field(default_factory=list)
    raw_query: list[float] = field(default_factory=list)  # through an asyncpg pool like ours
    raw_direct: list[float] = field(default_factory=list)  # on a connection of its own
    sections: list[float] = field(default_factory=list)
    rows_per_report: list[int] = field(default_factory=list)
    data_as_of: list[float] = field(default_factory=list)
    issue: list[float] = field(default_factory=list)
    bare_pdf: list[float] = field(default_factory=list)
    card: list[float] = field(default_factory=list)
    queue_rpm: float = 0.0
    bare_rpm: float = 0.0
    queue_rounds: list[float] = field(default_factory=list)
    bare_rounds: list[float] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)


# Setup


async def pick_enterprises(
    url: str, span: Span, count: int, seed: int, related: bool
) -> Enterprises:
    """A seeded sample of enterprises with at least one listed record in the span."""
    conn = await asyncpg.connect(url)
    try:
        ids = [
            r[0]
            for r in await conn.fetch(
                "SELECT DISTINCT enterprise_id FROM record WHERE decision_date BETWEEN $1 AND $2"
                " AND status <> $3 ORDER BY 1",
                span.start,
                span.end,
                RecordStatus.REVOKED.value,
            )
        ]
    finally:
        await conn.close()
    if not ids:
        raise RuntimeError("no enterprise has records in the span: seed more records")
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    by_id = {e.id: e for e in await Enterprise.filter(id__in=chosen)}
    out: Enterprises = []
    for eid in chosen:
        enterprise = by_id[eid]
        out.append((enterprise, await related_enterprises(enterprise) if related else []))
    return out


# 1. Snapshot assembly against the raw query


async def bench_assembly(
    url: str, sample: Enterprises, span: Span, runs: int, figures: Figures
) -> None:
    # data-as-of is a separate per-report query (timed below), not part of "the one query".
    as_of = await data_as_of_for_report(ALL_DOMAINS)
    conn = await asyncpg.connect(url)
    revoked = RecordStatus.REVOKED.value

    def hashed(enterprise: Enterprise, sections: list[dict[str, Any]]) -> str:
        snapshot = build_snapshot(
            report_no="YX20990101000001",
            verify_code="ABCDEFGH",
            verify_url="http://127.0.0.1:8080/verify/YX20990101000001?c=ABCDEFGH",
            issued_at=datetime.now(UTC),
            requester={"enterprise_name": enterprise.name, "uscc": enterprise.uscc},
            purpose="listing",
            span=span,
            sections=sections,
        )
        return sha256_hex(canonical_json(snapshot))

    async def ours(enterprise: Enterprise, related: list[tuple[Enterprise, RelatedRole]]) -> float:
        """The whole assembly; returns how long assemble_sections alone took (the breakdown)."""
        started = time.perf_counter()
        sections = await assemble_sections(
            enterprise, related, ALL_DOMAINS, span, as_of, CQ_2024_89, span.end
        )
        sections_s = time.perf_counter() - started
        hashed(enterprise, sections)
        return sections_s

    async def raw(
        enterprise: Enterprise,
        related: list[tuple[Enterprise, RelatedRole]],
        via: asyncpg.Pool | asyncpg.Connection,
    ) -> list[asyncpg.Record]:
        """The baseline: the same query sent raw through asyncpg (a pool like ours, or a
        connection of its own), then the same building (sections_from_rows), canonical JSON and
        SHA-256."""
        ids = [enterprise.id, *(e.id for e, _ in related)]
        rows = await via.fetch(
            RAW_SQL, ids, ALL_DOMAINS, span.start, span.end, revoked, sorted(ARREARS_DOMAINS)
        )
        sections = sections_from_rows(
            rows, enterprise, related, ALL_DOMAINS, as_of, CQ_2024_89, span.end
        )
        hashed(enterprise, sections)
        return rows

    # As our pool (services/db.py): up to 5 connections, no reset query on release.
    pool = await asyncpg.create_pool(url, min_size=1, max_size=5,
                                     connection_class=PooledConnection)  # fmt: skip
    try:
        # Warm-up: every path once over the sample, so that all read from shared buffers.
        for enterprise, related in sample:
            await raw(enterprise, related, pool)
            await raw(enterprise, related, conn)
            await ours(enterprise, related)
        for i in range(runs):
            enterprise, related = sample[i % len(sample)]
            # Rotate which goes first so none always runs right after another.
            steps = ["ours", "pool", "conn"]
            for step in steps[i % 3 :] + steps[: i % 3]:
                if step == "ours":
                    t_ours, t_sections = await timed(lambda e=enterprise, r=related: ours(e, r))
                else:
                    via = pool if step == "pool" else conn
                    t_raw, rows = await timed(lambda e=enterprise, r=related, v=via: raw(e, r, v))
                    (figures.raw_query if step == "pool" else figures.raw_direct).append(t_raw)
            figures.assembly.append(t_ours)
            figures.sections.append(t_sections)
            figures.rows_per_report.append(len(rows))
    finally:
        await pool.close()
        await conn.close()
    for _ in range(10):
        t, _ = await timed(lambda: data_as_of_for_report(ALL_DOMAINS))
        figures.data_as_of.append(t)


# 2. PDF through the service against the bare engine; 3. the card


async def bench_pdf(
    redis: Redis, settings: Settings, sample: Enterprises, span: Span, runs: int, figures: Figures
) -> list[dict[str, Any]]:
    """issue() p50 against bare WeasyPrint on each report's own HTML; returns the snapshots."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    signer = SnapshotSigner(settings.report_signing_key)
    renderer = make_renderer(settings.pki_dir)
    bare_fonts = FontConfiguration()  # one per process, as render.pdf keeps one per thread

    async def one(enterprise: Enterprise, related: bool) -> tuple[float, Report]:
        req = ReportRequest(uscc=enterprise.uscc, domains="all", start=span.start,
                            end=span.end, related=related)  # fmt: skip
        report = await request_report(redis, req, today=span.end)
        t, issued = await timed(
            lambda: issue(
                report,
                settings=settings,
                signer=signer,
                data_as_of=data_as_of_for_report,
                renderer=renderer,
            )
        )
        assert issued.status == ReportStatus.READY
        return t, issued

    def bare(html: str) -> float:
        started = time.perf_counter()
        pdf = HTML(string=html).write_pdf(font_config=bare_fonts)
        assert isinstance(pdf, bytes)
        return time.perf_counter() - started

    snapshots: list[dict[str, Any]] = []
    warmups = 3  # imports, fonts, Pango, PKI load, the executor thread's FontConfiguration
    for i in range(warmups + runs):
        enterprise, related = sample[i % len(sample)]
        t_issue, report = await one(enterprise, bool(related))
        html = render_html(view_from_snapshot(report.snapshot))
        t_bare = bare(html)
        if i >= warmups:
            figures.issue.append(t_issue)
            figures.bare_pdf.append(t_bare)
            snapshots.append(report.snapshot)
    return snapshots


def bench_card(snapshots: list[dict[str, Any]], runs: int, figures: Figures) -> None:
    render_card(view_from_snapshot(snapshots[0]))  # warm-up: the Typst compiler and its fonts
    for i in range(runs):
        snapshot = snapshots[i % len(snapshots)]
        started = time.perf_counter()
        png = render_card(view_from_snapshot(snapshot))
        figures.card.append(time.perf_counter() - started)
        assert png[:4] == b"\x89PNG"


# 4. Throughput: worker processes (spawned: a clean interpreter, as `run.py worker` is)


def queue_worker_main(
    settings: Settings, warm_snapshot: dict[str, Any], concurrency: int, ready: Queue[int]
) -> None:
    asyncio.run(_queue_worker(settings, warm_snapshot, concurrency, ready))


async def _queue_worker(
    settings: Settings, warm_snapshot: dict[str, Any], concurrency: int, ready: Queue[int]
) -> None:
    # A long-lived worker is warm: every executor thread it renders in has built its fonts.
    warm = make_renderer(settings.pki_dir)
    await in_render_thread(warm.card, warm_snapshot)
    await in_render_thread(warm.pdf, warm_snapshot, settings.pdf_engine)
    async with database(settings.database_url):
        await Enterprise.first()  # opens the pool's first connection
        redis = worker_redis(settings.redis_url, concurrency=concurrency)
        worker = Worker(redis, build_registry(settings, bot_engine=handle), [RENDER_STREAM],
                        concurrency=concurrency, context=settings)  # fmt: skip
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
        task = asyncio.create_task(worker.run())
        ready.put(os.getpid())
        try:
            await task
        finally:
            await redis.aclose()


def bare_worker_main(
    jobs: Queue[str | None], ready: Queue[int], done: Queue[float], barrier: Barrier
) -> None:
    """Renders each HTML it is sent; at a None, reports the time and waits for the next round."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    HTML(string=jobs.get()).write_pdf(font_config=fonts)  # warm, like the queue workers
    ready.put(os.getpid())
    while True:
        html = jobs.get()
        if html is None:
            done.put(time.time())
            barrier.wait()  # or a fast process would take the slow one's end-of-round None
            continue
        HTML(string=html).write_pdf(font_config=fonts)


def _stop(processes: list[SpawnProcess]) -> None:
    for p in processes:
        if p.is_alive():
            p.terminate()  # SIGTERM: a Worker finishes in-flight jobs and stops
    for p in processes:
        p.join(30)
        if p.is_alive():
            p.kill()
            p.join(5)


async def _get(source: Queue[T], processes: list[SpawnProcess], timeout: float) -> T:
    """One message from a child, polled in short waits: a cancelled bench leaves no thread
    blocked for long (asyncio.run waits for its executor threads), and a dead child is noticed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.to_thread(source.get, True, 0.5)
        except queue.Empty:
            if any(p.exitcode is not None for p in processes):
                raise RuntimeError("a benchmark process died") from None
            if time.monotonic() > deadline:
                raise TimeoutError("no word from the benchmark processes in time") from None


async def _queue_round(
    redis: Redis, sample: Enterprises, span: Span, count: int
) -> tuple[float, list[str]]:
    """count reports requested back to back; seconds until the last is ready, and their HTML."""
    started = time.time()
    ids = []
    for i in range(count):
        enterprise, related = sample[i % len(sample)]
        req = ReportRequest(uscc=enterprise.uscc, domains="all", start=span.start,
                            end=span.end, related=bool(related))  # fmt: skip
        ids.append((await request_report(redis, req, today=span.end)).id)
    deadline = time.monotonic() + max(120.0, 5.0 * count)
    while True:
        states = await Report.filter(id__in=ids).values_list("status", flat=True)
        if any(s == ReportStatus.FAILED for s in states):
            raise RuntimeError("a report failed in the queue workers")
        if all(s == ReportStatus.READY for s in states):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{states.count(ReportStatus.READY)}/{count} reports ready")
        await asyncio.sleep(0.1)
    # ready_at is stamped by issue() itself: no polling delay in the figure.
    last = max(await Report.filter(id__in=ids).values_list("ready_at", flat=True))
    snapshots = await Report.filter(id__in=ids).values_list("snapshot", flat=True)
    return last.timestamp() - started, [render_html(view_from_snapshot(s)) for s in snapshots]


async def _bare_round(
    htmls: list[str],
    jobs: Queue[str | None],
    done: Queue[float],
    barrier: Barrier,
    procs: list[SpawnProcess],
) -> float:
    started = time.time()
    for html in htmls:
        jobs.put(html)  # pulled one at a time, as the workers pull entries from the stream
    for _ in procs:
        jobs.put(None)
    finished = [await _get(done, procs, 300) for _ in procs]
    await asyncio.to_thread(barrier.wait, 30)
    return max(finished) - started


async def bench_throughput(
    ctx: SpawnContext,
    redis: Redis,
    settings: Settings,
    sample: Enterprises,
    span: Span,
    args: argparse.Namespace,
    warm_snapshot: dict[str, Any],
    figures: Figures,
) -> None:
    """Rounds of (queue batch, then bare batch on the same HTML); the best round of each counts.

    Best-of rounds, because on a shared 2-core machine anything else running only ever slows a
    round down. All processes stay up between rounds; the idle side blocks and uses no CPU.
    """
    count, workers = args.throughput_reports, args.workers
    await redis.flushdb()  # nothing left over from the PDF phase may reach the workers
    ready: Queue[int] = ctx.Queue()
    jobs: Queue[str | None] = ctx.Queue()
    done: Queue[float] = ctx.Queue()
    barrier = ctx.Barrier(workers + 1)
    queue_procs = [
        ctx.Process(target=queue_worker_main,
                    args=(settings, warm_snapshot, args.worker_concurrency, ready))
        for _ in range(workers)
    ]  # fmt: skip
    bare_procs = [
        ctx.Process(target=bare_worker_main, args=(jobs, ready, done, barrier))
        for _ in range(workers)
    ]
    warm_html = render_html(view_from_snapshot(warm_snapshot))
    for _ in bare_procs:
        jobs.put(warm_html)
    try:
        for p in [*queue_procs, *bare_procs]:
            p.start()
        for _ in range(2 * workers):  # warm-ups done
            await _get(ready, [*queue_procs, *bare_procs], 300)
        for _ in range(args.rounds):
            seconds, htmls = await _queue_round(redis, sample, span, count)
            figures.queue_rounds.append(seconds)
            figures.bare_rounds.append(await _bare_round(htmls, jobs, done, barrier, bare_procs))
    finally:
        barrier.abort()  # releases any bare process still waiting, so that it can be stopped
        await asyncio.to_thread(_stop, [*queue_procs, *bare_procs])
        await redis.flushdb()
    figures.queue_rpm = count / min(figures.queue_rounds) * 60
    figures.bare_rpm = count / min(figures.bare_rounds) * 60


# The table


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(args: argparse.Namespace, figures: Figures, command: str) -> None:
    a50, a99 = pct(figures.assembly, 0.5), pct(figures.assembly, 0.99)
    r50, r99 = pct(figures.raw_query, 0.5), pct(figures.raw_query, 0.99)
    d50 = pct(figures.raw_direct, 0.5)
    i50, b50 = pct(figures.issue, 0.5), pct(figures.bare_pdf, 0.5)
    c50 = pct(figures.card, 0.5)
    share = figures.queue_rpm / figures.bare_rpm
    rows = [
        ("assembly p50 (40 domains, 5 y)", ms(a50), f"raw query + same building {ms(r50)}",
         f"{a50 / r50:.2f}x", "<= 1.3x", a50 / r50 <= 1.3),
        ("assembly p99", ms(a99), f"raw query + same building {ms(r99)}", f"{a99 / r99:.2f}x",
         "<= 1.3x", a99 / r99 <= 1.3),
        ("assembly p50, baseline on a connection of its own", ms(a50),
         f"{ms(d50)}", f"{a50 / d50:.2f}x", "", True),
        ("PDF: issue() p50", ms(i50), f"bare WeasyPrint {ms(b50)}", f"{i50 / b50:.2f}x",
         "<= 1.3x", i50 / b50 <= 1.3),
        ("PNG card p50", ms(c50), "", "", "< 80 ms", c50 < 0.080),
        (f"throughput, {args.workers} workers", f"{figures.queue_rpm:.0f}/min",
         f"bare x{args.workers} {figures.bare_rpm:.0f}/min", f"{share:.0%}", ">= 70%",
         share >= 0.70),
    ]  # fmt: skip
    header = ("figure", "ours", "baseline", "ratio", "target", "result")
    table = [header, *[(*r[:5], verdict(r[5]) if r[4] else "") for r in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rows_mean = statistics.mean(figures.rows_per_report)
    print(f"\n$ {command}")
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{args.enterprises:,} enterprises, {args.records:,} records (seed_demo "
        f"{figures.seed_s:.1f} s); span {args.span.start} .. {args.span.end}"
    )
    print(
        f"assembly: {len(figures.assembly)} runs over {len(set(args.sample_ids))} enterprises "
        f"with records, {rows_mean:.1f} records per report on average "
        f"(max {max(figures.rows_per_report)}); PDF: {len(figures.issue)} reports after 3 "
        f"warm-ups; card: {len(figures.card)} runs; throughput: {args.throughput_reports} "
        f"reports, worker concurrency {args.worker_concurrency}"
    )
    print()
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table[1:]:
        print(line(r))
    print()
    print(
        f"assembly breakdown: assemble_sections (the ORM query and grouping) p50 "
        f"{ms(pct(figures.sections, 0.5))}, p99 {ms(pct(figures.sections, 0.99))}; the rest is "
        f"build_snapshot, canonical JSON and SHA-256."
    )
    print(
        f"notes: issue() also runs the per-report data-as-of query (p50 "
        f"{ms(pct(figures.data_as_of, 0.5))}), the seal, the card and the storage fsyncs; "
        f"issue() p99 {ms(pct(figures.issue, 0.99))}, bare p99 "
        f"{ms(pct(figures.bare_pdf, 0.99))}."
    )
    print(
        f"throughput: {args.throughput_reports} reports a round, best of {args.rounds}; "
        f"seconds per round through the queue "
        f"{', '.join(f'{x:.1f}' for x in figures.queue_rounds)}, bare engine "
        f"{', '.join(f'{x:.1f}' for x in figures.bare_rounds)}."
    )
    print("phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in figures.phases.items()))


# Driver


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--assembly-runs", type=int, default=200)
    parser.add_argument("--pdf-runs", type=int, default=30)
    parser.add_argument("--card-runs", type=int, default=100)
    parser.add_argument("--throughput-reports", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds; best counts")
    parser.add_argument(
        "--worker-concurrency", type=int, default=8, help="per process (run.py worker's default)"
    )
    parser.add_argument(
        "--related", action="store_true", help="include each enterprise's related enterprises"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_URL, help="any database on the server")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="flushed before and after")
    parser.add_argument("--progress", action="store_true", help="seed progress bar on stderr")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, tmp: Path) -> Figures:
    figures = Figures()
    name = f"reportbench_{uuid.uuid4().hex[:8]}"
    url = with_database(args.postgres_url, name)
    settings = Settings(
        database_url=url,
        redis_url=args.redis_url,
        report_signing_key=base64.b64encode(os.urandom(32)).decode(),
        id_hash_key=BENCH_KEY,  # the workers' registry checks ID numbers (the bot binds)
        reports_dir=tmp / "reports",
        pki_dir=tmp / "pki",
    )
    today = date.today()
    args.span = span = five_year_span(today)
    redis = Redis.from_url(args.redis_url, socket_timeout=10)
    ctx = multiprocessing.get_context("spawn")
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{name}"')
    try:
        await redis.flushdb()
        mark = time.perf_counter()
        await migrate(url)
        async with database(url):
            await sync_catalogue()
            seeded = await seed_demo(enterprises=args.enterprises, records=args.records,
                                     seed=args.seed, id_hash_key=BENCH_KEY, today=today,
                                     progress=args.progress)  # fmt: skip
            figures.seed_s = seeded.elapsed
            await admin_sql(url, "VACUUM ANALYZE")  # planner statistics, as a live database has
            figures.phases["setup"] = time.perf_counter() - mark
            needed = max(args.assembly_runs, args.pdf_runs + 3, args.throughput_reports)
            sample = await pick_enterprises(url, span, needed, args.seed, args.related)
            args.sample_ids = [e.id for e, _ in sample]
            print(f"  seeded in {figures.seed_s:.1f} s; measuring", file=sys.stderr)

            mark = time.perf_counter()
            await bench_assembly(url, sample, span, args.assembly_runs, figures)
            figures.phases["assembly"] = time.perf_counter() - mark
            print("  done: assembly", file=sys.stderr)

            mark = time.perf_counter()
            snapshots = await bench_pdf(redis, settings, sample, span, args.pdf_runs, figures)
            bench_card(snapshots, args.card_runs, figures)
            figures.phases["pdf+card"] = time.perf_counter() - mark
            print("  done: pdf, card", file=sys.stderr)

            mark = time.perf_counter()
            await bench_throughput(ctx, redis, settings, sample, span, args, snapshots[0], figures)
            figures.phases["throughput"] = time.perf_counter() - mark
            print("  done: throughput", file=sys.stderr)
    finally:
        try:
            with contextlib.suppress(RedisError):  # Redis trouble must not keep the database
                await redis.flushdb()
            await redis.aclose()
        finally:
            await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join([".venv/bin/python -m bench.report", *map(shlex.quote, sys.argv[1:])])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reportbench-") as tmp:  # keys and PDFs go too
        figures = asyncio.run(run(args, Path(tmp)))
    figures.phases["total"] = time.perf_counter() - started
    print_table(args, figures, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
