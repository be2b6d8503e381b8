"""`serve`: the HTTP API and the web site, optionally with workers and the development fakes."""

from __future__ import annotations

import argparse
import os

from cli.common import Commands, command, with_database
from config.secrets import DEV_SECRETS_FILE
from config.settings import Settings

PAGES = (
    ("工作人员登录", "/staff/login"),
    ("部门工作台", "/dept/"),
    ("服务大厅窗口", "/hall/"),
    ("自助终端", "/terminal/"),
    ("运维视图", "/ops"),
    ("推广统计", "/ops/stats"),
    ("队列 JSON", "/ops/api/queues"),
    ("监控指标", "/metrics"),
    ("报告核验", "/verify"),
    ("核验公钥", "/verify/keys.json"),
    ("根证书", "/verify/root.pem"),
    ("健康检查", "/healthz"),
    ("就绪检查", "/readyz"),
)


def register(commands: Commands) -> None:
    serve = command(commands, "serve", run_serve, "serve the HTTP API")
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
        "--worker-streams",
        nargs="+",
        default=None,
        metavar="STREAM",
        help="the streams those workers consume (default: all); leave reports:render out when "
        "render workers run as processes of their own",
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


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from cli.worker import known_streams
    from fakes.beside import fake_oidc_ctx, fake_wechat_ctx
    from handlers.app import create_app
    from handlers.keys import WEB_DEMO_BINDING
    from services.reports.issuing import RENDER_STREAM

    base = settings.public_base_url
    streams = known_streams(args.worker_streams)
    if streams is None:
        return 2
    app = create_app(settings, with_workers=args.with_workers, with_dev_pki=args.with_dev_pki,
                     worker_streams=streams)  # fmt: skip
    print("YuCredit 已启动 / is running:")
    web_page = (("企业网页端", "/web/"),) if settings.web_enabled else ()
    for label, path in (*web_page, *PAGES):
        print(f"  {label:<8} {base}{path}")
    print("  工作人员账号用 run.py staff create 创建（见 docs/staff.md）；自助终端首次打开时输入")
    print("  run.py operator create 名称 --channel terminal 打印的终端密钥")
    print(f"  运维令牌（OPS_TOKEN，仅供抓取 /metrics）见 {settings_source()}")
    if args.with_workers and RENDER_STREAM in streams:
        from services.reports.rendering import warm_render_thread

        warm_render_thread(settings)  # in the background: the server starts meanwhile
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
            app[WEB_DEMO_BINDING] = demo
            print(f"  演示企业 {demo['enterprise_name']}：网页端“企业”页已预填其绑定信息")
        other = demo_with_records_of(settings)
        if other is not None:
            print(f"  演示企业 {other['enterprise_name']}（{other['uscc']}）有市市场监管局的记录，"
                  "可提出异议由 samr 部门办理，也可在窗口、自助终端办理；法定代表人 "
                  f"{other['legal_rep_name']}，身份证号码 {other['id_number']}")  # fmt: skip
    # access_log=None: the request-id middleware logs every request already, and aiohttp's
    # access logger formats each line even when its level discards it (half the throughput).
    host, port = args.host or settings.host, args.port or settings.port
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def settings_source() -> str:
    return "环境变量 OPS_TOKEN" if os.environ.get("OPS_TOKEN") else str(DEV_SECRETS_FILE)


def demo_binding_of(settings: Settings) -> dict[str, str] | None:
    """The demo enterprise's binding details, when the database holds `make run`'s demo data."""
    from services.demo.seed import demo_binding

    return with_database(settings, lambda: demo_binding(settings.id_hash_key))


def demo_with_records_of(settings: Settings) -> dict[str, str] | None:
    """A demo enterprise with 市市场监管局's records, to try an objection and the consoles."""
    from services.demo.seed import demo_binding_with_records

    return with_database(settings, lambda: demo_binding_with_records(settings.id_hash_key, "samr"))
