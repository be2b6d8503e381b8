"""What every staff page and staff API shares: the session cookie, the person behind it, their
role, the CSRF check on every state-changing request, and the security headers.

`require_staff` is for JSON endpoints (its errors become the API's JSON errors); `staff_page`
wraps a page handler so that no session sends the browser to the sign-in form and a refusal
shows a Chinese page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from handlers.keys import REDIS, SETTINGS
from handlers.templates_env import TEMPLATES
from models.staff import StaffRole
from services.accounts.staff import StaffIdentity, staff_identity
from services.accounts.staff_sessions import COOKIE, IDLE_S, StaffSession, staff_session
from services.errors import Forbidden, ServiceError, Unauthorized

log = logging.getLogger(__name__)

LOGIN = "/staff/login"
SAFE_METHODS = ("GET", "HEAD")
SESSION = web.RequestKey("staff_session", StaffSession)
WHO = web.RequestKey("staff_identity", StaffIdentity)
# Every staff answer; the console pages (render_staff) also get the strict CSP below, which the
# older ops pages with their inline styles do not.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
StaffHandler = Callable[[web.Request, StaffIdentity], Awaitable[web.StreamResponse]]


class CsrfMissing(Forbidden):
    """A state-changing request without the session's CSRF token."""

    code = "csrf_invalid"
    message = "页面已过期或请求来源无法确认（CSRF 校验未通过），请刷新页面后重试"


def secure_cookies(request: web.Request) -> bool:
    """Secure cookies whenever the consoles are reached over HTTPS (directly or behind a proxy)."""
    return request.secure or request.config_dict[SETTINGS].public_base_url.startswith("https://")


def set_staff_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
                     max_age: int = IDLE_S) -> None:  # fmt: skip
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="Strict", secure=secure_cookies(request))  # fmt: skip


async def _given_csrf(request: web.Request) -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return str((await request.post()).get("csrf_token", ""))  # cached for the handler
    return None


async def require_staff(request: web.Request, roles: Iterable[StaffRole]) -> StaffIdentity:
    """The signed-in person, if their role is one of `roles`: Unauthorized without a live
    session, Forbidden for another role, CsrfMissing for a POST without the session's token."""
    redis = request.config_dict[REDIS]
    session = await staff_session(redis, request.cookies.get(COOKIE, ""))
    who = await staff_identity(session.staff_id) if session else None
    if session is None or who is None:
        expired = bool(request.cookies.get(COOKIE))
        raise Unauthorized("登录已过期，请重新登录" if expired else "请先登录工作人员账号",
                           code="staff_session_required", expired=expired)  # fmt: skip
    if who.role not in tuple(roles):
        raise Forbidden("您的账号无权访问该页面", code="staff_role_forbidden")
    if request.method not in SAFE_METHODS and not session.csrf_matches(await _given_csrf(request)):
        log.info("staff csrf refused on %s for %s", request.path, who.actor)
        raise CsrfMissing()
    request[SESSION], request[WHO] = session, who
    return who


def render_staff(request: web.Request, template: str, status: int = 200,
                 **context: Any) -> web.Response:  # fmt: skip
    """A console page, with what the layout needs: the person, the CSRF token, the path."""
    session, who = request.get(SESSION), request.get(WHO)
    body = TEMPLATES.get_template(f"staff/{template}").render(
        who=who, csrf=session.csrf if session else "", path=request.path, **context
    )
    response = web.Response(text=body, content_type="text/html", charset="utf-8", status=status)
    response.headers.update(HEADERS)
    response.headers["Content-Security-Policy"] = CSP
    return response


def to_login(request: web.Request, expired: bool = False) -> web.HTTPException:
    target = f"{LOGIN}?next={quote(request.path_qs, safe='')}" + ("&expired=1" if expired else "")
    return web.HTTPFound(target) if request.method in SAFE_METHODS else web.HTTPSeeOther(target)


def staff_page(*roles: StaffRole) -> Callable[[StaffHandler], web.Handler]:
    """A page for people of these roles; handlers receive the request and the person."""

    def wrap(handler: StaffHandler) -> web.Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            try:
                who = await require_staff(request, roles)
                response = await handler(request, who)
            except Unauthorized as exc:
                raise to_login(request, expired=bool(exc.details.get("expired"))) from None
            except ServiceError as exc:
                return render_staff(request, "error.html", status=exc.status, title="未能完成",
                                    message=exc.message)  # fmt: skip
            except web.HTTPNotFound:
                return render_staff(request, "error.html", status=404, title="页面不存在",
                                    message="您访问的页面不存在，或不属于您的部门。")  # fmt: skip
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page

    return wrap
