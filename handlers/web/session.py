"""What every page of the web site shares: its session cookie, CSRF check, security headers, and
errors shown as Chinese pages rather than JSON.

The middleware loads the session named by the cookie before the handler runs. A page that needs
a login and finds none sends the browser to the login page (saying so when the session expired);
a state-changing request must carry the session's CSRF token, in the form field `csrf_token`, the
`X-CSRF-Token` header, or (for a multipart form, whose body the handler streams) the query.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from config.settings import Settings
from handlers.keys import REDIS, SETTINGS
from handlers.templates_env import TEMPLATES
from services.accounts.web_sessions import COOKIE, WebSession, csrf_matches, get_web_session
from services.errors import ServiceError

log = logging.getLogger(__name__)

PREFIX = "/web"
SAFE_METHODS = ("GET", "HEAD")
# Pages reachable without a session: logging in, and the assets.
STATIC = "/web/static/"
PUBLIC = ("/web/login", STATIC)
SESSION = web.RequestKey("web_session", WebSession | None)  # type: ignore[arg-type]
_HEADERS = {
    # Scripts and styles only from the site itself: no inline script can run.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self' http: https:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def settings_of(request: web.Request) -> Settings:
    return request.config_dict[SETTINGS]


def session_of(request: web.Request) -> WebSession:
    """The logged-in session (the middleware has made sure there is one)."""
    session = request.get(SESSION)
    if session is None:  # a handler outside the login wall asked: a bug, not the user's fault
        raise web.HTTPFound(f"{PREFIX}/login")
    return session


def secure_cookies(request: web.Request) -> bool:
    """Secure cookies whenever the site is reached over HTTPS (directly or behind a proxy)."""
    return request.secure or settings_of(request).public_base_url.startswith("https://")


def set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
    )


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page of the site, with what the layout needs: the CSRF token, the active tab."""
    session = request.get(SESSION)
    body = TEMPLATES.get_template(f"web/{template}").render(
        csrf=session.csrf if session else "",
        logged_in=session is not None,
        path=request.path,
        **context,
    )
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status)


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def _login_redirect(request: web.Request, expired: bool) -> web.HTTPException:
    target = f"{PREFIX}/login" + ("?expired=1" if expired else "")
    if request.method in SAFE_METHODS:
        return web.HTTPFound(target)
    return web.HTTPSeeOther(target)


async def _csrf_token(request: web.Request) -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type == "application/x-www-form-urlencoded":
        return str((await request.post()).get("csrf_token", ""))  # cached for the handler
    return request.query.get("csrf_token")


@web.middleware
async def web_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    if request.path.startswith(STATIC):  # assets need no session: no Redis round trip
        return await handler(request)
    redis = request.config_dict[REDIS]
    ttl = settings_of(request).web_session_ttl_s
    cookie = request.cookies.get(COOKIE, "")
    session = await get_web_session(redis, cookie, ttl) if cookie else None
    request[SESSION] = session
    try:
        if session is None and not request.path.startswith(PUBLIC):
            raise _login_redirect(request, expired=bool(cookie))
        if (
            request.method not in SAFE_METHODS
            and session is not None
            and not csrf_matches(session, await _csrf_token(request))
        ):
            log.info("web csrf refused on %s", request.path)
            response = render(
                request,
                "error.html",
                status=403,
                title="页面已失效",
                message="页面已过期或请求来源无法确认（CSRF 校验未通过），请返回刷新页面后重试。",
            )
        else:
            response = await handler(request)
    except ServiceError as exc:
        if exc.status == 401:
            raise _login_redirect(request, expired=True) from None
        response = render(
            request, "error.html", status=exc.status, title="未能完成", message=exc.message
        )
    except web.HTTPNotFound:
        response = render(
            request,
            "error.html",
            status=404,
            title="页面不存在",
            message="您访问的页面不存在或已被删除。",
        )
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
