"""The self-service terminal (/terminal/): kiosk pages for a walk-in enterprise, on the rules of
services.reports.terminal. Large touch targets, an on-screen keyboard, no browser chrome needed;
60 idle seconds end the visit (the page's script, and the visit's own expiry in Redis)."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from aiohttp import web

from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import client_ip
from handlers.staff.session import CSP, HEADERS, secure_cookies
from handlers.templates_env import TEMPLATES
from models.enums import ReportPurpose
from services.errors import ServiceError
from services.reports import terminal
from services.reports.terminal import Kiosk

STATIC = Path(__file__).resolve().parent / "static" / "terminal"
PREFIX = "/terminal"
DEVICE_COOKIE = "yc_kiosk"
VISIT_COOKIE = "yc_visit"
PURPOSES = [{"value": p.value, "label": p.label} for p in ReportPurpose]
KEYS = [*"1234567890", *"QWERTYUIOP", *"ASDFGHJKLX", *"ZCVBNM"]


def _render(template: str, status: int = 200, **context: Any) -> web.Response:
    body = TEMPLATES.get_template(f"terminal/{template}").render(
        idle_s=terminal.VISIT_IDLE_S, keys=KEYS, **context
    )
    response = web.Response(text=body, content_type="text/html", charset="utf-8", status=status)
    response.headers.update(HEADERS)
    response.headers["Content-Security-Policy"] = CSP
    return response


def _cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
            max_age: int | None) -> None:  # fmt: skip
    response.set_cookie(name, value, path=PREFIX, max_age=max_age, httponly=True,
                        samesite="Strict", secure=secure_cookies(request))  # fmt: skip


async def _kiosk(request: web.Request) -> Kiosk:
    found = await terminal.kiosk(request.app[REDIS], request.cookies.get(DEVICE_COOKIE, ""))
    if found is None:
        raise web.HTTPFound(f"{PREFIX}/setup")
    return found


async def setup_form(request: web.Request) -> web.Response:
    return _render("setup.html")


async def setup(request: web.Request) -> web.StreamResponse:
    key = str((await request.post()).get("key", ""))
    try:
        token = await terminal.register_terminal(request.app[REDIS], key)
    except ServiceError as exc:
        return _render("setup.html", status=exc.status, error=exc.message)
    response = web.HTTPSeeOther(f"{PREFIX}/")
    _cookie(request, response, DEVICE_COOKIE, token, terminal.DEVICE_TTL_S)
    raise response


async def start(request: web.Request) -> web.Response:
    kiosk = await _kiosk(request)
    return _render("start.html", csrf=kiosk.csrf, purposes=PURPOSES, form={})


async def ask(request: web.Request) -> web.StreamResponse:
    kiosk = await _kiosk(request)
    form = {k: str(v) for k, v in (await request.post()).items()}
    if not hmac.compare_digest(form.get("csrf_token", "").encode(), kiosk.csrf.encode()):
        return _render("start.html", status=403, csrf=kiosk.csrf, purposes=PURPOSES, form={},
                       error="页面已过期，请重新开始。")  # fmt: skip
    try:
        token = await terminal.start_visit(request.app[REDIS], kiosk, terminal.visit_body(form),
                                           client_ip(request))  # fmt: skip
    except ServiceError as exc:
        kept = {"uscc": form.get("uscc", "")}
        return _render("start.html", status=exc.status, csrf=kiosk.csrf, purposes=PURPOSES,
                       form=kept, error=exc.message)  # fmt: skip
    response = web.HTTPSeeOther(f"{PREFIX}/report")
    _cookie(request, response, VISIT_COOKIE, token, None)
    raise response


async def report(request: web.Request) -> web.StreamResponse:
    kiosk = await _kiosk(request)
    view = await terminal.visit_report(request.app[REDIS], request.app[SETTINGS], kiosk,
                                       request.cookies.get(VISIT_COOKIE, ""))  # fmt: skip
    if view is None:
        raise web.HTTPFound(f"{PREFIX}/end")
    waiting = view["status"] in ("pending", "rendering")
    return _render("report.html", r=view, poll=f"{PREFIX}/report/status" if waiting else "")


async def report_status(request: web.Request) -> web.Response:
    """The visit's report status for the waiting page; 404 once the visit is over."""
    kiosk = await _kiosk(request)
    view = await terminal.visit_report(request.app[REDIS], request.app[SETTINGS], kiosk,
                                       request.cookies.get(VISIT_COOKIE, ""))  # fmt: skip
    if view is None:
        raise web.HTTPNotFound()
    return web.json_response({"status": view["status"]})


async def end(request: web.Request) -> web.StreamResponse:
    """The visit ends: its Redis entry and its cookie go; the start page shows again."""
    await terminal.end_visit(request.app[REDIS], request.cookies.get(VISIT_COOKIE, ""))
    response = web.HTTPFound(f"{PREFIX}/")
    response.del_cookie(VISIT_COOKIE, path=PREFIX)
    response.headers["Clear-Site-Data"] = '"cache"'
    raise response


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/", start)
    r.add_get(f"{PREFIX}/setup", setup_form)
    r.add_post(f"{PREFIX}/setup", setup)
    r.add_post(f"{PREFIX}/ask", ask)
    r.add_get(f"{PREFIX}/report", report)
    r.add_get(f"{PREFIX}/report/status", report_status)
    r.add_get(f"{PREFIX}/end", end)
    r.add_static(f"{PREFIX}/static", STATIC)
