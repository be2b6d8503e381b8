"""The development fakes served beside the app, on their own ports, as `run.py serve` offers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

from aiohttp import web

from config.settings import Settings
from fakes.oidc import FakeOidcProvider, create_fake_oidc_app
from fakes.wechat import FakeWeChat, create_fake_wechat_app

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def serve_beside(make_app: Callable[[], web.Application], url: str) -> CleanupContext:
    """A cleanup context that serves make_app() at url's host and port beside the main app."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(make_app())
        await runner.setup()
        where = urlsplit(url)
        await web.TCPSite(runner, where.hostname, where.port).start()
        yield
        await runner.cleanup()

    return ctx


def fake_wechat_ctx(settings: Settings) -> CleanupContext:
    """Serve the local fake of WeChat's API beside the app, for development without internet."""

    def make() -> web.Application:
        apps = {settings.wechat_app_id: settings.wechat_secret,
                settings.mp_app_id: settings.mp_secret}  # fmt: skip
        templates = [settings.wechat_notice_template_id, settings.mp_notice_template_id]
        return create_fake_wechat_app(FakeWeChat(apps, templates=[t for t in templates if t]))

    return serve_beside(make, settings.wechat_api_base)


def fake_oidc_ctx(settings: Settings) -> CleanupContext:
    """Serve the development OpenID Connect provider beside the app (the web site's legal-person
    login), its one client being this site."""

    def make() -> web.Application:
        callback = settings.public_base_url.rstrip("/") + "/web/login/oidc/callback"
        clients = {settings.oidc_client_id: (settings.oidc_client_secret, (callback,))}
        issuer = settings.oidc_issuer.rstrip("/")
        return create_fake_oidc_app(FakeOidcProvider(clients, issuer=issuer))

    return serve_beside(make, settings.oidc_issuer)
