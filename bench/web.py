"""Web page benchmark: the home page and a ready report's page of the enterprise web site, on
one `run.py serve` process, against a bare aiohttp handler that answers the same HTML bytes,
measured in the same run.

    .venv/bin/python -m bench.web [--seconds 5] [--concurrency 32] [--rounds 3]

The load machinery is bench.api's (a separate load process, closed-loop rounds alternating
between the two servers for the maximum rate, then an open-loop schedule at half that rate for
p50 and p99). Each page needs the session cookie (one Redis round trip), the user's bindings or
the report (the database) and a Jinja2 render. Target: p99 under 20 ms at half the
maximum rate. Scratch state: a temporary SQLite database, Redis database 10 unless --redis-url
says otherwise (flushed before and after), ports 8114-8115 unless --port and --bare-port say
otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from redis.asyncio import Redis

from bench.api import ID_HASH_KEY, Figures, _flush, measure_pair, prepare, wait_for
from bench.common import load_parser, print_rows

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 20.0


def pages(report_id: int) -> dict[str, str]:
    return {"home": "/web/", "report": f"/web/reports/{report_id}"}


def serve_bare(bodies_file: str, port: int) -> None:
    """A bare aiohttp app answering each page's path with the bytes our server answered."""
    from aiohttp import web

    bodies = json.loads(Path(bodies_file).read_text())
    app = web.Application()
    for path, body in bodies.items():
        data = body.encode()

        async def page(request: web.Request, data: bytes = data) -> web.Response:
            return web.Response(body=data, content_type="text/html", charset="utf-8")

        app.router.add_get(path, page)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def web_session(database_url: str, redis_url: str) -> str:
    """A web session (cookie value) for the user bench.api.prepare made."""
    from infra.db import database
    from models.user import User
    from services.accounts.web_sessions import create_web_session

    async with database(database_url):
        user = await User.get(mp_openid="o_bench")
    redis = Redis.from_url(redis_url)
    try:
        return (await create_web_session(redis, user.id, "oidc", 3600)).token
    finally:
        await redis.aclose()


def fetch(url: str, cookie: str) -> str:
    request = urllib.request.Request(url, headers={"Cookie": f"yc_web={cookie}"})
    with urllib.request.urlopen(request, timeout=5) as r:
        assert r.status == 200, r.status
        return r.read().decode()


async def load_main(args: argparse.Namespace) -> None:
    ports = {"yucredit": args.port, "bare": bare_port(args)}
    headers = {"Cookie": f"yc_web={args.cookie}"}
    results = {}
    for name, path in pages(args.report_id).items():
        for server, figures in (await measure_pair(ports, path, headers, args)).items():
            results[f"{server}:{name}"] = figures.__dict__
    Path(args.load).write_text(json.dumps(results))


def run_bench(args: argparse.Namespace) -> dict[str, Figures]:
    scratch = Path(tempfile.mkdtemp(prefix="yucredit-bench-web-"))
    database_url = f"sqlite://{scratch / 'bench.db'}"
    asyncio.run(_flush(args.redis_url))
    processes: list[subprocess.Popen[bytes]] = []
    base = f"http://127.0.0.1:{args.port}"
    try:
        report_id, _ = asyncio.run(prepare(database_url, args.redis_url))
        cookie = asyncio.run(web_session(database_url, args.redis_url))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "ID_HASH_KEY": ID_HASH_KEY,
            "YUCREDIT_SECRETS_FILE": str(scratch / "secrets.env"),
            "LOG_LEVEL": args.log_level,
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "run.py", "serve", "--port", str(args.port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(f"{base}/healthz")
        bodies = {path: fetch(base + path, cookie) for path in pages(report_id).values()}
        (scratch / "bodies.json").write_text(json.dumps(bodies))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.web",
                    "--bare",
                    str(scratch / "bodies.json"),
                    "--port",
                    str(bare_port(args)),
                ],
                cwd=ROOT,
            )
        )
        wait_for(f"http://127.0.0.1:{bare_port(args)}/web/")
        out = scratch / "results.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.web",
                "--load",
                str(out),
                "--report-id",
                str(report_id),
                f"--cookie={cookie}",
                "--seconds",
                str(args.seconds),
                "--port",
                str(args.port),
                "--bare-port",
                str(bare_port(args)),
                "--concurrency",
                str(args.concurrency),
                "--rounds",
                str(args.rounds),
            ],
            cwd=ROOT,
            check=True,
        )
        results = {k: Figures(**v) for k, v in json.loads(out.read_text()).items()}
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        asyncio.run(_flush(args.redis_url))
    print_table(results, args)
    return results


def print_table(results: dict[str, Figures], args: argparse.Namespace) -> None:
    print(
        f"{args.concurrency} clients, {args.seconds:g} s per phase, median of {args.rounds} "
        "alternating rounds; latency at half the maximum rate, open loop"
    )
    header = ("page", "server", "req/s", "vs bare", "paced/s", "p50 ms", "p99 ms", "non-200")
    rows = [header]
    for name, path in pages(0).items():
        bare = results[f"bare:{name}"]
        for server in ("yucredit", "bare"):
            f = results[f"{server}:{name}"]
            rows.append(
                (
                    f"GET {path.replace('/0', '/{id}')}",
                    server,
                    f"{f.rate:,.0f}",
                    f"{f.rate / bare.rate:.0%}",
                    f"{f.paced_rate:,.0f}",
                    f"{f.p50_ms:.2f}",
                    f"{f.p99_ms:.2f}",
                    str(f.errors),
                )
            )
    print_rows(rows)
    worst = max(results[f"yucredit:{name}"].p99_ms for name in pages(0))
    verdict = "met" if worst < TARGET_P99_MS else "NOT met"
    print(f"target p99 < {TARGET_P99_MS:g} ms at half the maximum rate: {verdict} ({worst:.2f} ms)")


def bare_port(args: argparse.Namespace) -> int:
    return args.bare_port or args.port + 1


def main() -> None:
    parser = load_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8114, help="the app's")
    parser.add_argument("--bare-port", type=int, help="the bare server's; default: --port + 1")
    parser.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL")
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        serve_bare(args.bare, args.port)
    elif args.load:
        asyncio.run(load_main(args))
    else:
        run_bench(args)


if __name__ == "__main__":
    main()
