"""Webhook benchmark: encrypted text messages through /wechat, against a bare aiohttp handler.

Run from the repository root:

    .venv/bin/python -m bench.webhook [--redis-url redis://127.0.0.1:6379/12] [--requests 6000]

It starts one `run.py serve` process (no workers: the webhook alone, i.e. signature, decryption,
dedupe, enqueue, reply) and, as the same-run baseline, a bare aiohttp process that answers
`success` to any POST. Two load-generator processes send safe-mode pushes (each a new message,
encrypted beforehand with wechatpy as WeChat would) over keep-alive connections:
- throughput: --requests pushes as fast as the servers take them;
- latency: pushes paced at half of the webhook's measured maximum, for --paced-seconds, to both
  servers from one client process (pacing needs little CPU); p50 and p99 per request.
The targets: at least 50% of the bare handler's throughput; p99 under 20 ms at half rate.

When bot.engine is importable it also measures the time from a user's last line (the "确认"
that asks for the report) to the report image at the fake WeChat server, with --users users
confirming at once: a seeded scratch PostgreSQL database (--postgres-url), each user bound to an
enterprise, `serve` with workers and the fake, and --render-workers extra render processes.
--dialog FILE holds the lines each user says (default bench/dialog_report.txt), "确认" last; each
user waits for the bot's answer to a line before the next, as a person reads before typing, and
the users say "确认" together once all have been asked to confirm. It also counts the messages
the sender holds (outside WeChat's window or quota). Without the engine this part is skipped.

The Redis database given (default 12) is flushed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bench.common import DEFAULT_URL, admin_sql, with_database
from fakes.wechat_push import PushSigner, text_xml

if TYPE_CHECKING:
    from fakes.wechat_simulate import Simulator

ROOT = Path(__file__).resolve().parent.parent
GO_KEY = "bench:webhook:go"
TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx_bench_oa"
REDIS_URL = "redis://127.0.0.1:6379/12"
USER_TIMEOUT_S = 120.0
ANSWER_TIMEOUT_S = 60.0
POLL_S = 0.5


# --- the baseline server --------------------------------------------------------------------


def serve_bare(port: int) -> None:
    """A bare aiohttp handler: read the body, answer success. Nothing else."""

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="success", content_type="text/plain")

    app = web.Application()
    app.router.add_post("/wechat", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- load generator (a process of its own) --------------------------------------------------


def make_pushes(n: int, prefix: str) -> list[tuple[dict[str, str], bytes]]:
    signer = PushSigner(TOKEN, AES_KEY, APP_ID)
    base = secrets.randbits(40) * 1_000_000  # MsgIds are unique across all of WeChat
    return [
        signer.sign(text_xml(f"o_{prefix}_{i % 200}", "查报告", msg_id=base + i)) for i in range(n)
    ]


async def fire(
    url: str, pushes: list[tuple[dict[str, str], bytes]], concurrency: int, rate: float
) -> dict[str, Any]:
    """Send the pushes (rate 0: as fast as possible with `concurrency` in flight)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(query: dict[str, str], body: bytes) -> None:
            nonlocal errors
            started = time.perf_counter()
            async with http.post(url, params=query, data=body) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

        start = time.time()
        if rate <= 0:
            queue = iter(pushes)

            async def lane() -> None:
                for query, body in queue:
                    await one(query, body)

            await asyncio.gather(*(lane() for _ in range(concurrency)))
        else:
            tasks = []
            t0 = time.perf_counter()
            for i, (query, body) in enumerate(pushes):
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(query, body)))
            await asyncio.gather(*tasks)
        end = time.time()
    return {"start": start, "end": end, "latencies": latencies, "errors": errors}


async def client_main(args: argparse.Namespace) -> None:
    pushes = make_pushes(args.n, args.prefix)
    redis = Redis.from_url(args.redis_url)
    await redis.incr(f"{GO_KEY}:ready")
    while not await redis.exists(GO_KEY):
        await asyncio.sleep(0.002)
    await redis.aclose()
    result = await fire(args.url, pushes, args.concurrency, args.rate)
    Path(args.out).write_text(json.dumps(result))


# --- the driver -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


async def run_load(
    redis: Redis, redis_url: str, url: str, total: int, rate: float, work: Path, clients: int = 2
) -> dict[str, Any]:
    """Fire `total` pushes from `clients` processes at `url`; rate is the combined rate."""
    await redis.delete(GO_KEY, f"{GO_KEY}:ready")
    outs, procs = [], []
    for c in range(clients):
        out = work / f"client{c}-{secrets.token_hex(3)}.json"
        outs.append(out)
        cmd = [sys.executable, "-m", "bench.webhook", "--client", "--url", url,
               "--n", str(total // clients), "--rate", str(rate / clients),
               "--concurrency", "32", "--prefix", f"c{c}{secrets.token_hex(2)}",
               "--out", str(out), "--redis-url", redis_url]  # fmt: skip
        procs.append(subprocess.Popen(cmd, cwd=ROOT))
    while int(await redis.get(f"{GO_KEY}:ready") or 0) < clients:
        await asyncio.sleep(0.02)
    await redis.set(GO_KEY, "1")
    for proc in procs:
        await asyncio.to_thread(proc.wait)
    results = [json.loads(out.read_text()) for out in outs]
    latencies = [x for r in results for x in r["latencies"]]
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "rate": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": sum(r["errors"] for r in results),
        "n": len(latencies),
    }


async def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.2)


def server_env(
    work: Path, redis_url: str, port: int, api_port: int, database_url: str = ""
) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url or f"sqlite://{work / 'bench.db'}",
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WECHAT_API_BASE": f"http://127.0.0.1:{api_port}",
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_APP_ID": APP_ID,
        "YUCREDIT_SECRETS_FILE": str(work / "secrets.env"),
        "REPORTS_DIR": str(work / "reports"),
        "PKI_DIR": str(work / "pki"),
        "LOG_LEVEL": "WARNING",
    }


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


async def bench_webhook(args: argparse.Namespace, work: Path, redis: Redis) -> None:
    env = server_env(work, args.redis_url, args.port, args.port + 2)
    ours = start([sys.executable, "run.py", "serve", "--port", str(args.port)], env)
    bare = start([sys.executable, "-m", "bench.webhook", "--bare", str(args.port + 1)], env)
    try:
        await wait_http(f"http://127.0.0.1:{args.port}/healthz")
        await wait_http(f"http://127.0.0.1:{args.port + 1}/")
        urls = {
            "bare aiohttp handler": f"http://127.0.0.1:{args.port + 1}/wechat",
            "/wechat (safe mode)": f"http://127.0.0.1:{args.port}/wechat",
        }
        warm = await run_load(redis, args.redis_url, urls["/wechat (safe mode)"], 1000, 0, work)
        assert warm["errors"] == 0, f"the webhook refused warm-up pushes: {warm}"
        peak = {name: await run_load(redis, args.redis_url, url, args.requests, 0, work)
                for name, url in urls.items()}  # fmt: skip
        half = peak["/wechat (safe mode)"]["rate"] / 2
        total = int(half * args.paced_seconds)
        paced = {name: await run_load(redis, args.redis_url, url, total, half, work, clients=1)
                 for name, url in urls.items()}  # fmt: skip
    finally:
        for proc in (ours, bare):
            proc.terminate()
            proc.wait(10)
    base = peak["bare aiohttp handler"]["rate"]
    print(f"\nWebhook: {args.requests} encrypted text pushes, 2 client processes x 32 connections;")
    print(f"then paced at {half:.0f}/s for {args.paced_seconds:.0f} s from one client process\n")
    print("| server | max req/s | vs bare | paced req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for name in urls:
        p, q = peak[name], paced[name]
        print(f"| {name} | {p['rate']:,.0f} | {p['rate'] / base:.0%} | {q['rate']:,.0f} | "
              f"{q['p50_ms']:.2f} | {q['p99_ms']:.2f} | {p['errors'] + q['errors']} |")  # fmt: skip
    queued = await redis.xlen("wx:inbound")
    expected = warm["n"] + peak["/wechat (safe mode)"]["n"] + paced["/wechat (safe mode)"]["n"]
    print(f"\nqueued on wx:inbound: {queued} of {expected} pushes (each a new message)")


async def bench_dialog(args: argparse.Namespace, work: Path, redis: Redis) -> None:
    """Time from the last line ("确认") to the report image at the fake, --users at once."""
    try:
        import bot.engine  # noqa: F401
    except ModuleNotFoundError:
        print("\nReport by bot: skipped (bot.engine is not present yet).")
        return

    lines = [ln for ln in Path(args.dialog).read_text("utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]  # fmt: skip
    # PostgreSQL, as in production: several processes write at once (SQLite would lock).
    name = f"bench_webhook_{secrets.token_hex(4)}"
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{name}"')
    try:
        await _bench_dialog(args, work, lines, with_database(args.postgres_url, name))
    finally:
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _bench_dialog(
    args: argparse.Namespace, work: Path, lines: list[str], database_url: str
) -> None:
    from fakes.wechat_simulate import Simulator
    from services.jobs import STREAMS
    from services.reports.issuing import RENDER_STREAM

    port = args.port + 3
    env = server_env(work, args.redis_url, port, port + 1, database_url)
    for command in (["migrate"], ["seed", "--enterprises", str(args.users * 5),
                                  "--records", str(args.users * 200), "--quiet"]):  # fmt: skip
        subprocess.run([sys.executable, "run.py", *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    await bind_users(database_url, args.users)
    # Rendering is one report at a time per process: more processes render in parallel. With
    # render processes of their own, the server leaves reports to them (a render in its process
    # holds the GIL its event loop needs for the webhook, the bot and the sender).
    streams = [s for s in STREAMS if s != RENDER_STREAM or not args.render_workers]
    server = start([sys.executable, "run.py", "serve", "--port", str(port), "--with-workers", "8",
                    "--worker-streams", *streams, "--with-fake-wechat"], env)  # fmt: skip
    renderers = [start([sys.executable, "run.py", "worker", "--streams", RENDER_STREAM,
                        "--concurrency", str(args.render_concurrency)], env)
                 for _ in range(args.render_workers)]  # fmt: skip
    waits: list[float] = []
    answers: list[float] = []
    held: dict[str, int] = {}
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        ready = asyncio.Barrier(args.users)
        async with aiohttp.ClientSession() as http:

            async def user(n: int) -> None:
                sim = Simulator(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}",
                                PushSigner(TOKEN, AES_KEY, APP_ID), APP_ID,
                                openid=f"o_bench_{n}", quiet_s=0.3, out=lambda _: None)  # fmt: skip
                await sim.start(http)
                # Like a person: read the bot's answer before writing the next line. WeChat
                # allows 5 customer-service messages per user message, so a user who typed on
                # regardless would have the answers to earlier lines use up the quota of 确认.
                for line in lines[:-1]:
                    await say_and_wait_for_answer(sim, http, line)
                await ready.wait()  # then all of them confirm at once
                started = time.time()  # the fake stamps what it receives with time.time()
                await sim.say(http, lines[-1])
                while not (images := [m for m in await sim.sent(http) if _is_image(m)]):
                    if time.time() - started > USER_TIMEOUT_S:
                        return  # counted as missing below
                    # Polled slowly: the fake runs in the server's process, and its stamp, not
                    # the poll, says when the image came.
                    await asyncio.sleep(POLL_S)
                waits.append(images[0]["at"] - started)
                after = [m["at"] for m in await sim.sent(http) if m["at"] >= started]
                answers.append(min(after) - started)  # the bot's first answer (已受理)

            await asyncio.gather(*(user(n) for n in range(args.users)))
        held = await held_messages(args.redis_url)
    finally:
        for proc in (server, *renderers):
            proc.terminate()
            proc.wait(15)
    print_dialog(args, waits, answers, held)


async def say_and_wait_for_answer(sim: Simulator, http: aiohttp.ClientSession, line: str) -> None:
    """Say a line, then wait until the bot has answered it (at most ANSWER_TIMEOUT_S)."""
    before = sim.seen
    await sim.say(http, line)
    deadline = time.perf_counter() + ANSWER_TIMEOUT_S
    while sim.seen == before and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
        if await sim.print_new(http):
            await sim.print_replies(http)  # and whatever follows it
    if sim.seen == before:
        raise RuntimeError(f"the bot did not answer {line!r} within {ANSWER_TIMEOUT_S:.0f} s")


async def held_messages(redis_url: str) -> dict[str, int]:
    """Messages the sender is holding per user (outside the window or past the quota)."""
    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter("wx:held:o_*")]
        return {k.decode().rpartition(":")[2]: await redis.llen(k) for k in keys}
    finally:
        await redis.aclose()


def print_dialog(
    args: argparse.Namespace, waits: list[float], answers: list[float], held: dict[str, int]
) -> None:
    missing = args.users - len(waits)
    print(f"\nReport by bot, {args.users} users confirming at once ({args.render_workers} extra "
          f"render processes): 确认 -> image at the fake WeChat")  # fmt: skip
    if waits:
        print(f"p50 {statistics.median(waits):.2f} s, p99 {percentile(waits, 99):.2f} s, "
              f"max {max(waits):.2f} s (target: p99 under 3 s with 20 users, 5 s with 50)"
              )  # fmt: skip
        print(f"the bot's first answer (已受理): p50 {statistics.median(answers):.2f} s, "
              f"p99 {percentile(answers, 99):.2f} s")  # fmt: skip
    print(f"{missing} without an image after {USER_TIMEOUT_S:.0f} s; messages held (window or "
          f"quota): {sum(held.values())} for {len(held)} users")  # fmt: skip


async def bind_users(database_url: str, users: int) -> None:
    """User n of the benchmark is the legal representative of the n-th seeded enterprise."""
    from infra.db import database
    from models.enterprise import Enterprise
    from models.enums import BindingRole
    from models.user import Binding, User

    async with database(database_url):
        enterprises = await Enterprise.all().order_by("id").limit(users)
        for n, enterprise in enumerate(enterprises):
            user = await User.create(oa_openid=f"o_bench_{n}")
            await Binding.create(user=user, enterprise=enterprise,
                                 role=BindingRole.LEGAL_REPRESENTATIVE,
                                 scopes=["reports", "objections"])  # fmt: skip


def _is_image(message: dict[str, Any]) -> bool:
    return message["kind"] == "custom" and message["payload"].get("msgtype") == "image"


async def main(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis_url)
    await redis.flushdb()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
            work = Path(tmp)
            env = server_env(work, args.redis_url, args.port, args.port + 2)
            subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
            if args.part in ("all", "webhook"):
                await bench_webhook(args, work, redis)
                await redis.flushdb()
            if args.part in ("all", "dialog"):
                await bench_dialog(args, work, redis)
    finally:
        await redis.flushdb()
        await redis.aclose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook", description=__doc__)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--part", choices=["all", "webhook", "dialog"], default="all")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--paced-seconds", type=float, default=8.0)
    parser.add_argument("--port", type=int, default=8134, help="uses this port and the next 4")
    parser.add_argument("--dialog", default=str(ROOT / "bench" / "dialog_report.txt"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--render-workers", type=int, default=2)
    parser.add_argument("--render-concurrency", type=int, default=8,
                        help="reports each render process holds (cards come first)")  # fmt: skip
    parser.add_argument("--postgres-url", default=DEFAULT_URL, help="for the report-by-bot part")
    # internal: the load generator and the bare server run as processes of their own
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="c", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    cli = parse_args()
    if cli.bare:
        serve_bare(cli.bare)
    elif cli.client:
        asyncio.run(client_main(cli))
    else:
        asyncio.run(main(cli))
