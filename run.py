#!/usr/bin/env python3
"""YuCredit's one entry point: serve, worker, migrate, seed, ingest, dept, audit, domains, check,
ops, wechat."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import unicodedata
import warnings
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
    app = create_app(settings, with_workers=args.with_workers, with_dev_pki=args.with_dev_pki)
    print("YuCredit 已启动 / is running:")
    pages = (
        *((("企业网页端", "/web/"),) if settings.web_enabled else ()),
        ("运维视图", "/ops"),
        ("队列 JSON", "/ops/api/queues"),
        ("监控指标", "/metrics"),
        ("报告核验", "/verify"),
        ("核验公钥", "/verify/keys.json"),
        ("根证书", "/verify/root.pem"),
        ("健康检查", "/healthz"),
        ("就绪检查", "/readyz"),
    )
    for label, path in pages:
        print(f"  {label:<8} {base}{path}")
    print(f"  运维令牌（OPS_TOKEN）见 {settings_source()}")
    if args.with_workers:
        print(f"  队列消费者已随服务启动，并发 {args.with_workers}")
    if args.with_dev_pki:
        print(f"  {'开发 CA 吊销列表':<8} {base}/verify/pki/root.crl")
        print(f"  {'开发时间戳服务':<8} {base}/verify/pki/tsa")
    if args.with_fake_wechat:
        app.cleanup_ctx.append(fake_wechat_ctx(settings))
        print(f"  {'微信接口（本地模拟）':<8} {settings.wechat_api_base}")
    if args.with_fake_oidc:
        app.cleanup_ctx.append(fake_oidc_ctx(settings))
        print(f"  {'法人登录（本地模拟）':<8} {settings.oidc_issuer}")
    if args.with_fake_wechat or args.with_fake_oidc:
        demo = demo_binding_of(settings)
        if demo is not None:
            from handlers.keys import WEB_DEMO_BINDING

            app[WEB_DEMO_BINDING] = demo
            print(f"  演示企业 {demo['enterprise_name']}：网页端“企业”页已预填其绑定信息")
    # access_log=None: the request-id middleware logs every request already, and aiohttp's
    # access logger formats each line even when its level discards it (half the throughput).
    web.run_app(app, host=args.host or settings.host, port=port, print=None, access_log=None)
    return 0


def settings_source() -> str:
    return "环境变量 OPS_TOKEN" if os.environ.get("OPS_TOKEN") else str(DEV_SECRETS_FILE)


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.engine import handle
    from infra.db import database
    from queues.worker import run_worker_process
    from services.jobs import STREAMS, build_registry
    from services.wechat.webhook import INBOUND_STREAM

    settings = load_settings()
    streams = args.streams or list(STREAMS)
    unknown = sorted(set(streams) - set(STREAMS))
    if unknown:
        print(f"错误：未知的队列 {unknown}，可选：{list(STREAMS)}", file=sys.stderr)
        return 2
    if INBOUND_STREAM in streams:  # jieba's dictionary and the FAQ index, before the first message
        from bot.engine import warm

        warm(settings)
    return run_worker_process(
        settings,
        streams,
        args.concurrency,
        build_registry(settings, bot_engine=handle),
        lifespan=lambda: database(settings.database_url),
    )


def cmd_ops_queues(args: argparse.Namespace) -> int:
    from redis.asyncio import Redis

    from services.stats.queues import queue_overview

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


def cmd_report(args: argparse.Namespace) -> int:
    """Issue a report inline, as a service-hall window does, and write the PDF and PNG."""
    from pathlib import Path

    from redis.asyncio import Redis

    from infra.db import database
    from infra.storage import LocalStorage
    from services.errors import ServiceError
    from services.jobs import data_as_of_for_report
    from services.reports.issuing import ReportRequest, issue, request_report
    from services.reports.rendering import make_renderer
    from services.reports.signing import SnapshotSigner

    settings = load_settings()
    request = ReportRequest(
        uscc=args.uscc, domains=args.domains, start=args.start, end=args.end,
        purpose=args.purpose, channel="hall", related=args.related, operator=args.operator,
        applicant=args.operator,
    )  # fmt: skip

    async def go() -> int:
        redis = Redis.from_url(settings.redis_url, socket_timeout=5)
        try:
            async with database(settings.database_url):
                report = await request_report(redis, request)
                report = await issue(
                    report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
                    data_as_of=data_as_of_for_report, renderer=make_renderer(
                        settings.pki_dir, settings.public_base_url, settings.tsa_url),
                )  # fmt: skip
        except ServiceError as exc:
            print(f"错误：{exc.message}", file=sys.stderr)
            return 2
        finally:
            await redis.aclose()
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        storage = LocalStorage(settings.reports_dir)
        for stored in (report.pdf_path, report.png_path):
            (out / stored).write_bytes(storage.get(stored))
        print(f"报告编号 {report.number}  核验码 {report.verify_code}")
        print(f"  {out / report.pdf_path}\n  {out / report.png_path}")
        print(f"  核验地址 {report.snapshot['verify_url']}")
        return 0

    return asyncio.run(go())


def cmd_verify(args: argparse.Namespace) -> int:
    """Verdict first. Exit 0: genuine (and the PDF, if given, is the one issued, sealed and
    signed); 1: not genuine or not matching; 2: unknown report, wrong code or unreadable file."""
    from pathlib import Path

    from infra.db import database
    from services.errors import ServiceError
    from services.reports.pdf_check import check_pdf
    from services.reports.rendering import platform_pki
    from services.reports.signing import SnapshotSigner
    from services.reports.verification import ready_report, verify_report

    settings = load_settings()
    try:
        pdf = Path(args.pdf).read_bytes() if args.pdf else None
    except OSError as exc:
        print(f"无法核验：读取 PDF 文件失败（{exc.strerror}）")
        return 2

    async def go() -> int:
        async with database(settings.database_url):
            try:
                result = await verify_report(
                    args.report_no, args.code, SnapshotSigner(settings.report_signing_key),
                    actor="cli",
                )  # fmt: skip
                report = await ready_report(args.report_no, args.code)
            except ServiceError as exc:
                print(f"无法核验：{exc.message}")
                return 2
            root = platform_pki(settings.pki_dir, settings.public_base_url).root()
            checked = await check_pdf(pdf, root, report) if pdf is not None else None
        ok = result["genuine"] and (checked is None or checked.genuine)
        if checked is not None and not checked.genuine:
            print("PDF 文件核验未通过，请勿采信")
        else:
            print(result["headline"] if ok else result["verdict"])
        print(f"  {result['data_status']}")
        print(f"  企业 {result['enterprise_name']}（{result['uscc']}）")
        print(f"  报告期 {result['span_label']}；出具时间 {result['issued_at_label']}")
        for line in checked.lines() if checked is not None else []:
            print(f"  {line}")
        return 0 if ok else 1

    return asyncio.run(go())


def demo_binding_of(settings: Settings) -> dict[str, str] | None:
    """The demo enterprise's binding details, when the database holds `make run`'s demo data."""
    from infra.db import database
    from services.demo.seed import demo_binding

    async def go() -> dict[str, str] | None:
        async with database(settings.database_url):
            return await demo_binding(settings.id_hash_key)

    return asyncio.run(go())


def _serve_beside(make_app, url: str):  # type: ignore[no-untyped-def]
    """A cleanup context that serves make_app() at url's host and port beside the main app."""
    from urllib.parse import urlsplit

    from aiohttp import web

    async def ctx(app: web.Application):  # type: ignore[no-untyped-def]
        runner = web.AppRunner(make_app())
        await runner.setup()
        where = urlsplit(url)
        await web.TCPSite(runner, where.hostname, where.port).start()
        yield
        await runner.cleanup()

    return ctx


def fake_wechat_ctx(settings: Settings):  # type: ignore[no-untyped-def]
    """Serve the local fake of WeChat's API beside the app, for development without internet."""
    from fakes.wechat import FakeWeChat, create_fake_wechat_app

    def make():  # type: ignore[no-untyped-def]
        apps = {settings.wechat_app_id: settings.wechat_secret,
                settings.mp_app_id: settings.mp_secret}  # fmt: skip
        templates = [settings.wechat_notice_template_id, settings.mp_notice_template_id]
        return create_fake_wechat_app(FakeWeChat(apps, templates=[t for t in templates if t]))

    return _serve_beside(make, settings.wechat_api_base)


def fake_oidc_ctx(settings: Settings):  # type: ignore[no-untyped-def]
    """Serve the development OpenID Connect provider beside the app (the web site's legal-person
    login), its one client being this site."""
    from fakes.oidc import FakeOidcProvider, create_fake_oidc_app

    def make():  # type: ignore[no-untyped-def]
        callback = settings.public_base_url.rstrip("/") + "/web/login/oidc/callback"
        clients = {settings.oidc_client_id: (settings.oidc_client_secret, (callback,))}
        issuer = settings.oidc_issuer.rstrip("/")
        return create_fake_oidc_app(FakeOidcProvider(clients, issuer=issuer))

    return _serve_beside(make, settings.oidc_issuer)


def cmd_migrate(args: argparse.Namespace) -> int:
    from infra.db import database, migrate
    from services.reports.catalogue import sync_catalogue

    settings = load_settings()

    async def go() -> None:
        await migrate(settings.database_url)
        async with database(settings.database_url):
            await sync_catalogue()

    asyncio.run(go())
    print("数据库已迁移到最新版本，40个领域目录已同步。")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from infra.db import database
    from services.demo.seed import database_has_enterprises, seed_demo
    from services.errors import ServiceError

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


def cmd_dept_create_key(args: argparse.Namespace) -> int:
    from infra.db import database
    from services.accounts.department_keys import create_department_key
    from services.errors import ServiceError

    settings = load_settings()

    async def go() -> int:
        async with database(settings.database_url):
            try:
                new = await create_department_key(args.department, args.label)
            except ServiceError as exc:
                print(f"错误：{exc.message}", file=sys.stderr)
                return 2
        print(f"部门 {new.department} 的新接口密钥（编号 {new.id}，只显示这一次，请妥善保存）：")
        print(new.key)
        return 0

    return asyncio.run(go())


def cmd_dept_revoke_key(args: argparse.Namespace) -> int:
    from infra.db import database
    from services.accounts.department_keys import revoke_department_key
    from services.errors import ServiceError

    settings = load_settings()

    async def go() -> int:
        async with database(settings.database_url):
            try:
                row = await revoke_department_key(args.key_id)
            except ServiceError as exc:
                print(f"错误：{exc.message}", file=sys.stderr)
                return 2
        print(f"密钥 {row.id}（{row.display}…）已吊销。")
        return 0

    return asyncio.run(go())


def cmd_operator_create(args: argparse.Namespace) -> int:
    from infra.db import database
    from services.accounts.operators import create_operator
    from services.errors import ServiceError

    settings = load_settings()

    async def go() -> int:
        async with database(settings.database_url):
            try:
                new = await create_operator(args.name, args.channel)
            except ServiceError as exc:
                print(f"错误：{exc.message}", file=sys.stderr)
                return 2
        label = "窗口" if new.channel == "hall" else "自助终端"
        print(f"{label}操作员 {new.name} 的密钥（编号 {new.id}，只显示这一次，请妥善保存）：")
        print(new.key)
        return 0

    return asyncio.run(go())


def cmd_dept_quality(args: argparse.Namespace) -> int:
    from config.calendar import calendar_for
    from infra.db import database
    from services.ingest.quality import all_departments_quality

    settings = load_settings()

    async def go() -> list:
        async with database(settings.database_url):
            return await all_departments_quality(calendar_for(settings.holiday_overrides_path))

    print(format_quality_table(asyncio.run(go())))
    return 0


def format_quality_table(figures: list) -> str:
    """Every department's freshness and quality figures as a terminal table."""
    from services.ingest.push import CHINA
    from services.ingest.validate import REJECTION_CODES

    header = ("部门代码", "部门", "最近推送", "记录数", "逾期率", "历史补录", "批次", "拒收率",
              "主要拒收原因")  # fmt: skip
    rows = [header]
    for q in figures:
        top = q.rejections.most_common(1)
        rows.append((
            q.code, q.name,
            q.last_push.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if q.last_push else "从未推送",
            str(q.records), q.late_share_text, str(q.backfill), str(q.batches),
            f"{q.rejection_rate:.1%}" if q.rows_received else "-",
            f"{REJECTION_CODES.get(top[0][0], top[0][0])} {top[0][1]}" if top else "-",
        ))  # fmt: skip
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)  # fmt: skip


def cmd_ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from infra.db import database
    from services.accounts.department_keys import department_by_code
    from services.errors import ServiceError
    from services.ingest.parse import CLI_LIMITS, content_type_for_path
    from services.ingest.push import ingest_batch

    settings = load_settings()
    path = Path(args.file)
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 2

    async def go() -> int:
        async with database(settings.database_url):
            bar = tqdm(desc=f"导入 {args.department}", unit="行", file=sys.stderr,
                       disable=args.quiet)  # fmt: skip

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                department = await department_by_code(args.department)
                result = await ingest_batch(
                    department,
                    path,
                    content_type=content_type_for_path(str(path)),
                    charset=args.charset,
                    channel="cli",
                    limits=CLI_LIMITS,
                    progress=progress,
                )
            except ServiceError as exc:
                bar.close()
                print(f"错误：{exc.message}（{exc.code}）", file=sys.stderr)
                for rejection in exc.details.get("rejected", [])[:20]:
                    print(f"  第 {rejection['line']} 行：{rejection['message']}", file=sys.stderr)
                return 2
            bar.close()
        c = result.to_dict()["counts"]
        print(
            f"批次 {result.batch_id}：共 {c['received']} 行，新增 {c['created']}，"
            f"更新 {c['updated']}，未变 {c['unchanged']}，拒收 {c['rejected']}"
        )
        for r in result.rejections[: args.show]:
            print(f"  第 {r.line} 行 [{r.code}] {r.field or ''} {r.message}")
        if result.rejected > args.show:
            print(f"  ……另有 {result.rejected - args.show} 行被拒收（按原因统计见 dept quality）")
        return 0

    return asyncio.run(go())


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from infra.db import database
    from services.audit import verify_audit_chain
    from services.ingest.integrity import verify_record_chain

    settings = load_settings()

    async def go() -> int:
        async with database(settings.database_url):
            audit_breaks = await verify_audit_chain()
            records = await verify_record_chain()
        for b in audit_breaks:
            print(f"审计日志第 {b.entry_id} 条：{b.reason}")
        for b in records.breaks:
            print(b.describe())
        print(
            f"审计日志：{'完好' if not audit_breaks else f'{len(audit_breaks)} 处异常'}；"
            f"记录版本日志 {records.entries} 条、记录 {records.records} 条"
            f"（其中 {records.unchained} 条为接口外导入，仅核对内容哈希）："
            f"{'完好' if records.ok else f'{len(records.breaks)} 处异常'}"
        )
        return 0 if records.ok and not audit_breaks else 1

    return asyncio.run(go())


def cmd_wechat_simulate(args: argparse.Namespace) -> int:
    """Chat with the bot as a WeChat user would, through /wechat and the fake WeChat server."""
    from fakes.wechat_push import PushSigner
    from fakes.wechat_simulate import Simulator, run_simulator, script_lines

    settings = load_settings()
    sim = Simulator(
        app_url=(args.url or settings.public_base_url).rstrip("/"),
        api_base=settings.wechat_api_base.rstrip("/"),
        signer=PushSigner(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id),
        appid=settings.wechat_app_id,
        encrypt=not args.plain,
        quiet_s=args.quiet,
    )
    if args.openid:
        sim.openid = args.openid
    lines = args.say or (script_lines(args.script) if args.script else None)
    try:
        return asyncio.run(run_simulator(sim, lines))
    except OSError as exc:
        print(f"错误：无法连接服务或模拟微信接口（{exc}）", file=sys.stderr)
        return 2


def cmd_bot_understand(args: argparse.Namespace) -> int:
    """One JSON object per line: {"text", "intent", "slots", "answer"}, for each text given."""
    from bot.understand import understand

    texts = list(args.text)
    if args.file:
        source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
        with source:
            texts += [line.rstrip("\n") for line in source if line.strip()]
    if not texts:
        print("错误：请给出要理解的文字，或用 --file 指定文件（每行一句）", file=sys.stderr)
        return 2
    settings = load_settings()
    for text in texts:
        print(json.dumps(understand(text, settings=settings).to_dict(), ensure_ascii=False))
    return 0


def cmd_ensure_redis(args: argparse.Namespace) -> int:
    from infra.redis_local import ensure_redis

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
    serve.add_argument(
        "--with-dev-pki",
        action="store_true",
        help="also serve the development CA's CRL and TSA under /verify/pki/ (development)",
    )
    serve.add_argument(
        "--with-fake-oidc",
        action="store_true",
        help="also serve the development OpenID Connect provider at OIDC_ISSUER (web login)",
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
    report = add("report", cmd_report, "issue a report now (service-hall path), write PDF and PNG")
    report.add_argument("--uscc", required=True)
    report.add_argument("--domains", default="all", help="all, or numbers such as 1,5,7")
    report.add_argument("--from", dest="start", default=None, help="YYYY-MM-DD")
    report.add_argument("--to", dest="end", default=None, help="YYYY-MM-DD")
    report.add_argument("--purpose", default="listing",
                        choices=["listing", "refinancing", "merger", "bond"])  # fmt: skip
    report.add_argument("--related", action="store_true", help="include related enterprises")
    report.add_argument("--operator", default="窗口", help="who issues it, as printed")
    report.add_argument("--out", required=True, help="directory for the PDF and PNG")
    verify = add("verify", cmd_verify, "verify an issued report (and optionally its PDF)")
    verify.add_argument("report_no")
    verify.add_argument("code")
    verify.add_argument("--pdf", default=None)
    worker = add("worker", cmd_worker, "run queue workers until SIGTERM")
    worker.add_argument("--streams", nargs="*", default=None, help="default: all streams")
    worker.add_argument("--concurrency", type=int, default=8)
    ops = sub.add_parser("ops", help="operations").add_subparsers(dest="ops", required=True)
    ops.add_parser("queues", help="the queue figures as a table").set_defaults(func=cmd_ops_queues)
    add("ensure-redis", cmd_ensure_redis, "start a local Redis under var/ if none answers")
    wechat = sub.add_parser("wechat", help="the Official Account bot").add_subparsers(
        dest="wechat", required=True
    )
    simulate = wechat.add_parser(
        "simulate", help="chat with the bot from the terminal (through the fake WeChat server)"
    )
    simulate.add_argument("--url", default=None, help="the app (default: PUBLIC_BASE_URL)")
    simulate.add_argument("--openid", default=None, help="the simulated user (default: random)")
    simulate.add_argument("--say", action="append", default=None, help="send this and exit")
    simulate.add_argument("--script", default=None, help="send each line of FILE (- for stdin)")
    simulate.add_argument("--plain", action="store_true", help="plain mode instead of safe mode")
    simulate.add_argument(
        "--quiet", type=float, default=1.5, help="seconds of silence after which the bot is done"
    )
    simulate.set_defaults(func=cmd_wechat_simulate)
    bot = sub.add_parser("bot", help="the bot's understanding").add_subparsers(
        dest="bot", required=True
    )
    understand = bot.add_parser(
        "understand", help="print the intent and slots of each text, one JSON object per line"
    )
    understand.add_argument("text", nargs="*", help="texts to understand")
    understand.add_argument("--file", default=None, help="one text per line (- for stdin)")
    understand.set_defaults(func=cmd_bot_understand)
    ingest = add("ingest", cmd_ingest, "push a file of records for a department (bulk loads)")
    ingest.add_argument("--department", required=True, help="department code, e.g. samr")
    ingest.add_argument("file", help=".csv, .jsonl or .ndjson")
    ingest.add_argument("--charset", default=None, help="CSV only: utf-8 or gbk (default: detect)")
    ingest.add_argument("--show", type=int, default=20, help="rejected rows to print")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    dept = sub.add_parser("dept", help="departments").add_subparsers(dest="dept", required=True)
    create_key = dept.add_parser("create-key", help="print a new API key for a department, once")
    create_key.add_argument("department", help="department code, e.g. samr")
    create_key.add_argument("--label", default="", help="what the key is for")
    create_key.set_defaults(func=cmd_dept_create_key)
    revoke_key = dept.add_parser("revoke-key", help="revoke an API key by its number")
    revoke_key.add_argument("key_id", type=int)
    revoke_key.set_defaults(func=cmd_dept_revoke_key)
    dept.add_parser("quality", help="every department's data quality").set_defaults(
        func=cmd_dept_quality
    )
    operator = sub.add_parser("operator", help="service-hall windows and terminals")
    operator_sub = operator.add_subparsers(dest="operator", required=True)
    op_create = operator_sub.add_parser("create", help="print a new operator key, once")
    op_create.add_argument("name", help="e.g. 渝中区政务服务中心-3号窗口")
    op_create.add_argument("--channel", choices=["hall", "terminal"], required=True)
    op_create.set_defaults(func=cmd_operator_create)
    audit = sub.add_parser("audit", help="tamper evidence").add_subparsers(
        dest="audit", required=True
    )
    audit.add_parser(
        "verify", help="recompute the audit trail and the record version log"
    ).set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The one third-party warning pyproject.toml's test filters also name (pyHanko importing DSA
    # under cryptography 51): kept off the console of every command, and nothing else is hidden.
    warnings.filterwarnings(
        "ignore", "DSA is deprecated", UserWarning, r"pyhanko\.sign\.signers\.pdf_cms"
    )
    from services.masking import MaskingFilter

    setup_logging(os.environ.get("LOG_LEVEL", "INFO"), filters=(MaskingFilter(),))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
