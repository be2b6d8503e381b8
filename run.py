#!/usr/bin/env python3
"""YuCredit's one entry point: serve, worker, migrate, seed, domains, check, ops."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import unicodedata
from collections.abc import Callable

from config.catalogue import DOMAINS, department_names
from config.logging import setup_logging
from config.secrets import DEV_SECRETS_FILE, environment_with_dev_secrets
from config.settings import Settings

log = logging.getLogger("yucredit")


def load_settings() -> Settings:
    """Environment first; on the embedded default, generated dev secrets fill the gaps."""
    return Settings.from_env(environment_with_dev_secrets())


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from handlers.app import create_app

    settings = load_settings()
    port = args.port or settings.port
    base = settings.public_base_url
    app = create_app(settings, with_workers=args.with_workers)
    print("YuCredit 已启动 / is running:")
    for label, path in (
        ("健康检查", "/healthz"),
        ("就绪检查", "/readyz"),
        ("监控指标", "/metrics"),
    ):
        print(f"  {label:<8} {base}{path}")
    if args.with_fake_wechat:
        app.cleanup_ctx.append(fake_wechat_ctx(settings))
        print(f"  {'微信接口（本地模拟）':<8} {settings.wechat_api_base}")
    web.run_app(app, host=args.host or settings.host, port=port, print=None)
    return 0


def settings_source() -> str:
    return "环境变量 OPS_TOKEN" if os.environ.get("OPS_TOKEN") else str(DEV_SECRETS_FILE)


def cmd_worker(args: argparse.Namespace) -> int:
    from queues.worker import run_worker_process
    from services.db import database
    from services.jobs import build_registry
    from services.ops import STREAMS

    settings = load_settings()
    streams = args.streams or list(STREAMS)
    unknown = sorted(set(streams) - set(STREAMS))
    if unknown:
        print(f"错误：未知的队列 {unknown}，可选：{list(STREAMS)}", file=sys.stderr)
        return 2
    return run_worker_process(
        settings,
        streams,
        args.concurrency,
        build_registry(),
        lifespan=lambda: database(settings.database_url),
    )


def cmd_ops_queues(args: argparse.Namespace) -> int:
    from redis.asyncio import Redis

    from services.ops import queue_overview

    async def go() -> list[dict]:
        client = Redis.from_url(load_settings().redis_url, socket_timeout=5)
        try:
            return await queue_overview(client)
        finally:
            await client.aclose()

    print(format_queue_table(asyncio.run(go())))
    return 0


def format_queue_table(streams: list[dict]) -> str:
    """The /ops figures as a terminal table, for a server without a browser."""
    from handlers.ops import format_age

    header = ("队列", "积压", "处理中", "未投递", "最久待确认", "重试中", "死信",
              "1分钟 成功/失败/重试", "1小时 成功/失败/重试", "消费者")  # fmt: skip
    rows = [header]
    for s in streams:
        m, h = s["last_minute"], s["last_hour"]
        rows.append((
            s["stream"], str(s["depth"]), str(s["pending"]),
            "-" if s["lag"] is None else str(s["lag"]),
            format_age(s["oldest_pending_age_s"]), str(s["scheduled_retries"]), str(s["dead"]),
            f"{m['processed']}/{m['failed']}/{m['retried']}",
            f"{h['processed']}/{h['failed']}/{h['retried']}",
            str(len(s["consumers"])),
        ))  # fmt: skip
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)  # fmt: skip


def fake_wechat_ctx(settings: Settings):  # type: ignore[no-untyped-def]
    """Serve the local fake of WeChat's API beside the app, for development without internet."""
    from urllib.parse import urlsplit

    from aiohttp import web

    from fakes.wechat import FakeWeChat, create_fake_wechat_app

    async def ctx(app: web.Application):  # type: ignore[no-untyped-def]
        fake = FakeWeChat(
            {settings.wechat_app_id: settings.wechat_secret, settings.mp_app_id: settings.mp_secret}
        )
        runner = web.AppRunner(create_fake_wechat_app(fake))
        await runner.setup()
        where = urlsplit(settings.wechat_api_base)
        await web.TCPSite(runner, where.hostname, where.port).start()
        yield
        await runner.cleanup()

    return ctx


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.catalogue import sync_catalogue
    from services.db import database, migrate

    settings = load_settings()

    async def go() -> None:
        await migrate(settings.database_url)
        async with database(settings.database_url):
            await sync_catalogue()

    asyncio.run(go())
    print("数据库已迁移到最新版本，40个领域目录已同步。")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from services.db import database
    from services.errors import ServiceError
    from services.seed import database_has_enterprises, seed_demo

    settings = load_settings()

    async def go() -> int:
        async with database(settings.database_url):
            if args.if_empty and await database_has_enterprises():
                print("数据库已有企业数据，跳过演示数据生成。")
                return 0
            try:
                result = await seed_demo(
                    enterprises=args.enterprises,
                    records=args.records,
                    seed=args.seed,
                    id_hash_key=settings.id_hash_key,
                    replace=args.replace,
                    progress=not args.quiet,
                )
            except ServiceError as exc:
                print(f"错误：{exc.message}", file=sys.stderr)
                return 2
        print(
            f"{result.status}: {result.enterprises} enterprises, {result.relations} relations, "
            f"{result.records} records in {result.elapsed:.1f}s; fingerprint {result.fingerprint}"
        )
        return 0

    return asyncio.run(go())


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def format_domains_table() -> str:
    """The 40-domain catalogue as an aligned terminal table (CJK counted double-width)."""
    header = ("序号", "领域", "责任部门", "核查事项")
    rows = [
        (str(d.number), d.name + ("（含欠缴）" if d.checks_arrears else ""),
         department_names(d), d.check_text)
        for d in DOMAINS
    ]  # fmt: skip
    widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        cells = [pad(row[i], widths[i]) for i in range(3)] + [row[3]]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 20)
    return "\n".join(lines)


def cmd_domains(args: argparse.Namespace) -> int:
    print(format_domains_table())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings()
    width = max(len(k) for k in settings.redacted())
    for key, value in settings.redacted().items():
        print(f"{key.upper():<{width}}  {value}")
    return 0


def cmd_ensure_redis(args: argparse.Namespace) -> int:
    from services.redis_local import ensure_redis

    url = load_settings().redis_url
    how = ensure_redis(url)
    print(f"Redis {'已在运行' if how == 'external' else '已在 var/redis 启动'}：{url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(func=func)
        return p

    serve = add("serve", cmd_serve, "serve the HTTP API")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--host", default=None)
    serve.add_argument(
        "--with-workers",
        type=int,
        nargs="?",
        const=4,
        default=0,
        metavar="N",
        help="also run queue workers in this process (concurrency N, default 4)",
    )
    serve.add_argument(
        "--with-fake-wechat",
        action="store_true",
        help="also serve the local fake of WeChat's API at WECHAT_API_BASE (development)",
    )
    add("migrate", cmd_migrate, "apply database migrations and sync the domain catalogue")
    seed = add("seed", cmd_seed, "load deterministic demo data")
    seed.add_argument("--enterprises", type=int, default=2000)
    seed.add_argument("--records", type=int, default=50000)
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--replace", action="store_true", help="replace existing demo data")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if enterprises exist")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")
    add("domains", cmd_domains, "print the 40-domain catalogue")
    add("check", cmd_check, "print the settings, secrets redacted")
    worker = add("worker", cmd_worker, "run queue workers until SIGTERM")
    worker.add_argument("--streams", nargs="*", default=None, help="default: all streams")
    worker.add_argument("--concurrency", type=int, default=8)
    ops = sub.add_parser("ops", help="operations").add_subparsers(dest="ops", required=True)
    ops.add_parser("queues", help="the queue figures as a table").set_defaults(func=cmd_ops_queues)
    add("ensure-redis", cmd_ensure_redis, "start a local Redis under var/ if none answers")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from services.masking import MaskingFilter

    setup_logging(os.environ.get("LOG_LEVEL", "INFO"), filters=(MaskingFilter(),))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
