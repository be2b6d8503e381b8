"""`serve`: the HTTP API and the web site, optionally with workers and the development fakes."""

from __future__ import annotations

import argparse
import os

from cli.common import Commands, command, with_database
from config.secrets import DEV_SECRETS_FILE
from config.settings import Settings

PAGES = (
    ("工作人员登录", "/staff/login"),
    ("运维视图", "/ops"),
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

    from fakes.beside import fake_oidc_ctx, fake_wechat_ctx
    from handlers.app import create_app
    from handlers.keys import WEB_DEMO_BINDING

    base = settings.public_base_url
    app = create_app(settings, with_workers=args.with_workers, with_dev_pki=args.with_dev_pki)
    print("YuCredit 已启动 / is running:")
    web_page = (("企业网页端", "/web/"),) if settings.web_enabled else ()
    for label, path in (*web_page, *PAGES):
        print(f"  {label:<8} {base}{path}")
    print("  工作人员账号用 run.py staff create 创建（运维视图需 --role ops）")
    print(f"  运维令牌（OPS_TOKEN，仅供抓取 /metrics）见 {settings_source()}")
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
