"""API benchmark: GET /api/mp/domains and GET /api/mp/reports/{id} on one `serve` process,
against a bare aiohttp handler answering the same JSON, measured in the same run.

    .venv/bin/python -m bench.api [--seconds 5] [--concurrency 32] [--postgres-url URL]

The bare handler answers the catalogue with its bytes and nothing else; a report's status only
after the I/O ours does: the same Redis round trip (the admission script: rate limits and the
session) and the same SQL (the status query) through an asyncpg pool like ours, so the ratio
measures what the application adds (middleware, access rules, links, JSON).

For each endpoint and server it measures
- the maximum rate: `--concurrency` keep-alive clients in a closed loop for `--seconds`, the
  median of `--rounds` rounds that alternate between the two servers;
- latency at half that rate: requests sent on a fixed schedule (open loop), p50 and p99.
The load comes from a separate process, so that it does not share the servers' event loops.
Scratch state: a scratch PostgreSQL database on the server of --postgres-url (TEST_POSTGRES_URL
by default), Redis database 10 unless --redis-url says otherwise (flushed before and after),
ports 8112-8113. Targets: at least 70% of the bare handler's throughput; p99 under 20 ms at half
the maximum rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from bench.common import DEFAULT_URL, admin_sql, load_parser, print_rows, with_database

ROOT = Path(__file__).resolve().parent.parent
APP_PORT, BARE_PORT = 8112, 8113
ID_HASH_KEY = "bench-id-hash-key"


# --- the bare baseline (runs as `python -m bench.api --bare FILE`) ----------------------------


def serve_bare(bodies_file: str) -> None:
    """A bare aiohttp app answering the two paths with the bytes our server answered. For a
    report it first does the I/O ours does: the same Redis round trip (the admission script:
    rate limits and session) and the same SQL (the status query) through an asyncpg pool."""
    import asyncpg
    from aiohttp import web

    from infra.db import PooledConnection
    from services.accounts.mp_sessions import admit
    from services.reports.requests import _status_query

    bodies = json.loads(Path(bodies_file).read_text())
    domains, report = bodies["domains"].encode(), bodies["report"].encode()
    database_url, redis_url = bodies["database_url"], bodies["redis_url"]
    status_sql = _status_query("postgres")
    redis_key = web.AppKey("redis", Redis)
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def get_domains(request: web.Request) -> web.Response:
        return web.Response(body=domains, content_type="application/json")

    async def get_report(request: web.Request) -> web.Response:
        token = request.headers["Authorization"].partition(" ")[2]
        admission = await admit(request.app[redis_key], token, request.remote or "",
                                ip_limit=10**9, user_limit=10**9)  # fmt: skip
        assert admission.session is not None
        row = await request.app[pool_key].fetchrow(
            status_sql, admission.session.user_id, int(request.match_info["id"])
        )
        assert row is not None
        return web.Response(body=report, content_type="application/json")

    async def clients(app: web.Application) -> AsyncIterator[None]:
        # As our client (handlers/app.py): the same timeouts make the same round trip.
        app[redis_key] = Redis.from_url(
            redis_url, socket_timeout=3, socket_connect_timeout=2, health_check_interval=15
        )
        # As our pool: asyncpg, up to 5 connections, no reset query on release.
        app[pool_key] = await asyncpg.create_pool(
            database_url, min_size=1, max_size=5, connection_class=PooledConnection
        )
        yield
        await app[pool_key].close()
        await app[redis_key].aclose()

    app = web.Application()
    app.cleanup_ctx.append(clients)
    app.router.add_get("/api/mp/domains", get_domains)
    app.router.add_get("/api/mp/reports/{id}", get_report)
    web.run_app(app, host="127.0.0.1", port=BARE_PORT, print=None, access_log=None)


# --- fixtures ---------------------------------------------------------------------------------


async def prepare(database_url: str, redis_url: str) -> tuple[int, str]:
    """Migrate, and make an enterprise, its bound legal representative, a ready report and a
    session: (report id, token)."""
    from datetime import UTC, date, datetime

    from infra.db import database, migrate
    from models.enterprise import Enterprise
    from models.enums import BindingRole, Channel, ReportPurpose, ReportStatus
    from models.report import Report
    from models.user import Binding, User
    from services.accounts.mp_sessions import create_session
    from services.identity import hash_id_number
    from services.reports.catalogue import sync_catalogue

    await migrate(database_url)
    async with database(database_url):
        await sync_catalogue()
        enterprise = await Enterprise.create(
            uscc="91500103MA5U7R6P02", name="重庆渝信示范科技股份有限公司", legal_rep_name="张三",
            legal_rep_id_hash=hash_id_number(ID_HASH_KEY, "500103198001011234"), district="渝中区",
        )  # fmt: skip
        user = await User.create(mp_openid="o_bench")
        await Binding.create(user=user, enterprise=enterprise, scopes=["reports", "objections"],
                             role=BindingRole.LEGAL_REPRESENTATIVE)  # fmt: skip
        report = await Report.create(
            number="YX20261128000001", verify_code="ABCDEFGH", enterprise=enterprise,
            domains=list(range(1, 41)), span_from=date(2023, 1, 1), span_to=date(2025, 12, 31),
            purpose=ReportPurpose.LISTING, channel=Channel.MINIPROGRAM, requester=user,
            status=ReportStatus.READY, ready_at=datetime.now(UTC), pdf_path="x.pdf",
            png_path="x.png",
        )  # fmt: skip
    redis = Redis.from_url(redis_url)
    try:
        session = await create_session(redis, user.id, "bench-session-key")
    finally:
        await redis.aclose()
    return report.id, session.token


# --- load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    rate: float
    paced_rate: float
    p50_ms: float
    p99_ms: float
    errors: int


class Connection:
    """A kept-alive HTTP/1.1 connection with a minimal client: aiohttp's own client costs the
    load generator several times what the servers spend, and it shares their two cores."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def get(self, request: bytes) -> int:
        """Send one GET, read the whole answer; its status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def request_bytes(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def closed_loop(
    port: int, request: bytes, seconds: float, concurrency: int
) -> tuple[float, int]:
    """Requests per second (and non-200 answers) with `concurrency` clients each sending the
    next request as soon as the answer is in."""
    done = errors = 0
    deadline = time.perf_counter() + seconds
    connections = [await Connection.open(port) for _ in range(concurrency)]

    async def client(conn: Connection) -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            if await conn.get(request) == 200:
                done += 1
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - started
    for conn in connections:
        conn.close()
    return done / elapsed, errors


async def open_loop(
    port: int, request: bytes, rate: float, seconds: float, pool: int = 128
) -> tuple[list[float], int]:
    """Latencies (s) of requests sent on a fixed schedule at `rate` per second. Latency counts
    from the scheduled time, so a late client or server shows instead of hiding."""
    latencies: list[float] = []
    errors = 0
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        free.put_nowait(await Connection.open(port))

    async def one(at: float) -> None:
        nonlocal errors
        conn = await free.get()
        if await conn.get(request) != 200:
            errors += 1
        latencies.append(time.perf_counter() - at)
        free.put_nowait(conn)

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    sent = 0
    while sent < n:  # every millisecond, send what is due
        due = min(n, int((time.perf_counter() - start) * rate) + 1)
        tasks.extend(asyncio.create_task(one(start + i / rate)) for i in range(sent, due))
        sent = due
        await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    while not free.empty():
        free.get_nowait().close()
    return latencies, errors


async def paced(port: int, request: bytes, rate: float, seconds: float) -> tuple[float, float, int]:
    latencies, errors = await open_loop(port, request, rate, seconds)
    ms = sorted(x * 1000 for x in latencies)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))], errors


async def measure_pair(
    ports: dict[str, int], path: str, headers: dict[str, str], args: argparse.Namespace
) -> dict[str, Figures]:
    """Both servers on one endpoint. The closed-loop rounds alternate between them (median of
    --rounds each), so that whatever else the machine is doing weighs on both alike."""
    request = request_bytes(path, headers)
    rates: dict[str, list[float]] = {name: [] for name in ports}
    errors = dict.fromkeys(ports, 0)
    for port in ports.values():
        await closed_loop(port, request, 1.0, args.concurrency)  # warm up
    for _ in range(args.rounds):
        for name, port in ports.items():
            rate, bad = await closed_loop(port, request, args.seconds, args.concurrency)
            rates[name].append(rate)
            errors[name] += bad
    figures = {}
    for name, port in ports.items():
        rate = statistics.median(rates[name])
        p50, p99, bad = await paced(port, request, rate / 2, args.seconds)
        figures[name] = Figures(rate, rate / 2, p50, p99, errors[name] + bad)
    return figures


def run_load(args: argparse.Namespace, report_id: int, token: str) -> dict[str, Figures]:
    """The measurements, in a process of their own (python -m bench.api --load ...)."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    subprocess.run(
        [sys.executable, "-m", "bench.api", "--load", str(out), "--report-id", str(report_id),
         f"--token={token}", "--seconds", str(args.seconds),
         "--concurrency", str(args.concurrency), "--rounds", str(args.rounds)],
        cwd=ROOT, check=True,
    )  # fmt: skip
    raw = json.loads(out.read_text())
    out.unlink()
    return {k: Figures(**v) for k, v in raw.items()}


async def load_main(args: argparse.Namespace) -> None:
    auth = {"Authorization": f"Bearer {args.token}"}
    ports = {"yucredit": APP_PORT, "bare": BARE_PORT}
    results = {}
    for endpoint, path, headers in (
        ("domains", "/api/mp/domains", {}),
        ("report", f"/api/mp/reports/{args.report_id}", auth),
    ):
        for name, figures in (await measure_pair(ports, path, headers, args)).items():
            results[f"{name}:{endpoint}"] = figures.__dict__
    Path(args.load).write_text(json.dumps(results))


# --- orchestration ----------------------------------------------------------------------------


def wait_for(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def fetch(url: str, token: str) -> str:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return r.read().decode()


def main() -> None:
    parser = load_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=DEFAULT_URL,
                        help="the server for the scratch database")  # fmt: skip
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        serve_bare(args.bare)
        return
    if args.load:
        asyncio.run(load_main(args))
        return
    run_bench(args)


def run_bench(args: argparse.Namespace) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="yucredit-bench-api-"))
    pg_name = f"yucredit_bench_api_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin_sql(args.postgres_url, f'CREATE DATABASE "{pg_name}"'))
    database_url = with_database(args.postgres_url, pg_name)
    asyncio.run(_flush(args.redis_url))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        report_id, token = asyncio.run(prepare(database_url, args.redis_url))
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url,
               "ID_HASH_KEY": ID_HASH_KEY, "YUCREDIT_SECRETS_FILE": str(scratch / "secrets.env"),
               "MP_RATE_PER_USER": "1000000000", "MP_RATE_PER_IP": "1000000000"}  # fmt: skip
        processes.append(subprocess.Popen(
            [sys.executable, "run.py", "serve", "--port", str(APP_PORT)], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        wait_for(f"http://127.0.0.1:{APP_PORT}/healthz")
        bodies = {
            "domains": fetch(f"http://127.0.0.1:{APP_PORT}/api/mp/domains", token),
            "report": fetch(f"http://127.0.0.1:{APP_PORT}/api/mp/reports/{report_id}", token),
            "database_url": database_url,
            "redis_url": args.redis_url,
        }
        (scratch / "bodies.json").write_text(json.dumps(bodies))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "bench.api", "--bare", str(scratch / "bodies.json")], cwd=ROOT,
        ))  # fmt: skip
        wait_for(f"http://127.0.0.1:{BARE_PORT}/api/mp/domains")
        results = run_load(args, report_id, token)
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        asyncio.run(_flush(args.redis_url))
        drop = f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'
        asyncio.run(admin_sql(args.postgres_url, drop))
    print_table(results, args)


async def _flush(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def print_table(results: dict[str, Figures], args: argparse.Namespace) -> None:
    print(f"{args.concurrency} clients, {args.seconds:g} s per phase, median of {args.rounds} "
          "alternating rounds; latency at half the maximum rate, open loop")  # fmt: skip
    header = ("endpoint", "server", "req/s", "vs bare", "paced/s", "p50 ms", "p99 ms", "non-200")
    rows = [header]
    for endpoint, path in (
        ("domains", "GET /api/mp/domains"),
        ("report", "GET /api/mp/reports/{id}"),
    ):
        bare = results[f"bare:{endpoint}"]
        for server in ("yucredit", "bare"):
            f = results[f"{server}:{endpoint}"]
            rows.append((path, server, f"{f.rate:,.0f}", f"{f.rate / bare.rate:.0%}",
                         f"{f.paced_rate:,.0f}", f"{f.p50_ms:.2f}", f"{f.p99_ms:.2f}",
                         str(f.errors)))  # fmt: skip
    print_rows(rows)


if __name__ == "__main__":
    main()
