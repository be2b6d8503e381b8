"""The staff consoles: the sign-in (/staff/login, password and TOTP), /staff/logout, /staff/
linking each person to their console, the department console (/dept/, handlers.staff.dept) and
the service-hall window (/hall/, handlers.staff.hall).
Every console (also /ops) checks the session through handlers.staff.session.

The sign-in form carries a token that must match a cookie set with the form (a double-submit
check), so another site cannot sign a browser in under someone else's account.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from aiohttp import web

from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import client_ip
from handlers.staff import dept, hall
from handlers.staff.session import (
    LOGIN,
    render_staff,
    require_staff,
    set_staff_cookie,
    staff_page,
)
from models.staff import StaffRole
from services.accounts.staff import StaffIdentity, sign_in
from services.accounts.staff_sessions import COOKIE, end_staff_session, start_staff_session
from services.audit import append_audit
from services.errors import ServiceError

STATIC = Path(__file__).resolve().parent.parent / "static" / "web"  # one design system
FORM_COOKIE = "yc_staff_form"
HOMES = {
    StaffRole.OPS: "/ops",
    StaffRole.DEPT_VIEWER: "/dept/",
    StaffRole.DEPT_HANDLER: "/dept/",
    StaffRole.DEPT_ADMIN: "/dept/",
    StaffRole.WINDOW_OPERATOR: "/hall/",
    StaffRole.HALL_ADMIN: "/hall/",
}
NEXT_PREFIXES = ("/ops", "/dept/", "/hall/", "/staff/")


def _safe_next(value: str) -> str | None:
    """A place on this site to go back to after signing in; nothing that leaves it."""
    if value.startswith(NEXT_PREFIXES) and "//" not in value and "\\" not in value:
        return value
    return None


def _login_page(request: web.Request, status: int = 200, **context: object) -> web.Response:
    form_token = secrets.token_urlsafe(24)
    response = render_staff(request, "login.html", status=status, form_token=form_token,
                            next=_safe_next(request.query.get("next", "")) or "",
                            expired=request.query.get("expired") == "1", **context)  # fmt: skip
    set_staff_cookie(request, response, FORM_COOKIE, form_token, max_age=30 * 60)
    return response


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    given, expected = str(form.get("form_token", "")), request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _login_page(request, status=403, error="登录页面已过期，请重新输入后登录。")
    try:
        who = await sign_in(
            request.app[REDIS],
            request.app[SETTINGS].id_hash_key,
            str(form.get("username", "")),
            str(form.get("password", "")),
            str(form.get("code", "")),
            client_ip(request),
        )
    except ServiceError as exc:
        return _login_page(request, status=exc.status, error=exc.message,
                           username=str(form.get("username", ""))[:32])  # fmt: skip
    # A new session id at every sign-in; the one the browser brought (if any) ends here.
    session = await start_staff_session(request.app[REDIS], who.id, request.cookies.get(COOKIE, ""))
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", ""))) or HOMES[who.role])
    set_staff_cookie(request, response, COOKIE, session.token)
    response.del_cookie(FORM_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    try:
        who = await require_staff(request, StaffRole)
    except ServiceError:
        raise web.HTTPSeeOther(LOGIN) from None
    await end_staff_session(request.app[REDIS], request.cookies.get(COOKIE, ""))
    await append_audit(who.actor, "staff.signed_out", "staff", str(who.id))
    response = web.HTTPSeeOther(LOGIN)
    response.del_cookie(COOKIE, path="/")
    raise response


@staff_page(*StaffRole)
async def home(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    return render_staff(request, "home.html")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get(LOGIN, login_form)
    r.add_post(LOGIN, login)
    r.add_post("/staff/logout", logout)
    r.add_get("/staff/", home)
    r.add_static("/staff/static", STATIC)
    dept.setup(app)
    hall.setup(app)
