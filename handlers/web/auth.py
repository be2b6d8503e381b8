"""Logging in and out of the web site: WeChat web authorisation, or the OpenID Connect provider."""

from __future__ import annotations

from aiohttp import web

from handlers.keys import MP_HTTP, REDIS
from handlers.web.session import (
    PREFIX,
    SESSION,
    render,
    see_other,
    session_of,
    set_cookie,
    settings_of,
)
from services.accounts.web_login import (
    Callback,
    finish_oidc,
    finish_wechat,
    start_oidc,
    start_wechat,
)
from services.accounts.web_sessions import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_TTL_S,
    create_web_session,
    end_web_session,
)
from services.errors import ServiceError

FINISH = {"wechat": finish_wechat, "oidc": finish_oidc}


def _callback(request: web.Request, provider: str) -> str:
    return f"{settings_of(request).public_base_url.rstrip('/')}{PREFIX}/login/{provider}/callback"


def in_wechat(request: web.Request) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


async def login_page(request: web.Request) -> web.Response:
    if request.get(SESSION) is not None:
        raise web.HTTPFound(f"{PREFIX}/")
    return render(
        request,
        "login.html",
        expired=request.query.get("expired") == "1",
        in_wechat=in_wechat(request),
        provider_label=settings_of(request).oidc_provider_label,
    )


def _redirect_to_provider(request: web.Request, url: str, browser_nonce: str) -> web.HTTPFound:
    response = web.HTTPFound(url)
    set_cookie(request, response, LOGIN_COOKIE, browser_nonce, LOGIN_TTL_S)
    return response


async def wechat_start(request: web.Request) -> web.StreamResponse:
    start = await start_wechat(
        request.config_dict[REDIS], settings_of(request), _callback(request, "wechat")
    )
    raise _redirect_to_provider(request, start.url, start.browser_nonce)


async def oidc_start(request: web.Request) -> web.StreamResponse:
    start = await start_oidc(
        request.config_dict[REDIS],
        request.config_dict[MP_HTTP],
        settings_of(request),
        _callback(request, "oidc"),
    )
    raise _redirect_to_provider(request, start.url, start.browser_nonce)


async def _logged_in(request: web.Request, user_id: int, method: str) -> web.StreamResponse:
    settings = settings_of(request)
    old = request.cookies.get(COOKIE)
    if old:  # a fresh session id at login: one planted beforehand is worth nothing
        await end_web_session(request.config_dict[REDIS], old)
    session = await create_web_session(
        request.config_dict[REDIS], user_id, method, settings.web_session_ttl_s
    )
    response = web.HTTPFound(f"{PREFIX}/")
    set_cookie(request, response, COOKIE, session.token, settings.web_session_ttl_s)
    response.del_cookie(LOGIN_COOKIE, path=PREFIX)
    raise response


def _failed(request: web.Request, exc: ServiceError) -> web.Response:
    return render(
        request,
        "login.html",
        status=exc.status,
        error=exc.message,
        in_wechat=in_wechat(request),
        provider_label=settings_of(request).oidc_provider_label,
    )


async def callback(request: web.Request) -> web.StreamResponse:
    """Where either provider sends the browser back: log in, or say why not."""
    provider = request.match_info["provider"]
    back = Callback(
        redirect_uri=_callback(request, provider),
        code=request.query.get("code", ""),
        state=request.query.get("state", ""),
        browser=request.cookies.get(LOGIN_COOKIE, ""),
        error=request.query.get("error", ""),
    )
    finish = FINISH[provider]
    try:
        user = await finish(request.config_dict[REDIS], request.config_dict[MP_HTTP],
                            settings_of(request), back)  # fmt: skip
    except ServiceError as exc:
        return _failed(request, exc)
    return await _logged_in(request, user.id, provider)


async def logout(request: web.Request) -> web.StreamResponse:
    await end_web_session(request.config_dict[REDIS], session_of(request).token)
    response = see_other(f"{PREFIX}/login")
    response.del_cookie(COOKIE, path=PREFIX)
    raise response


def setup(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_get("/login/wechat", wechat_start)
    app.router.add_get("/login/oidc", oidc_start)
    app.router.add_get("/login/{provider:wechat|oidc}/callback", callback)
    app.router.add_post("/logout", logout)
