"""The enterprise web site (信用中国（重庆）网页端), served under /web as a sub-application.

Server-rendered Chinese pages (Jinja2, templates/web/) with one small stylesheet and script;
its own middleware handles the cookie session, CSRF and error pages. Every rule is the services'
(accounts.bindings, reports.requests, objections.lifecycle), the same the mini-program API and the
bot call, with the channel recorded as `web`.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handlers.keys import SETTINGS
from handlers.web import auth, enterprises, objections, reports
from handlers.web.session import PREFIX, render, session_of, web_middleware
from services.accounts.bindings import bindings_overview

STATIC = Path(__file__).resolve().parent.parent / "static" / "web"


async def home(request: web.Request) -> web.Response:
    items = await bindings_overview(session_of(request).user_id, with_agents=False)
    return render(request, "home.html", items=items)


async def to_site(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/")


def create_web_app() -> web.Application:
    site = web.Application(middlewares=[web_middleware])
    site.router.add_get("/", home)
    auth.setup(site)
    enterprises.setup(site)
    reports.setup(site)
    objections.setup(site)
    site.router.add_static("/static", STATIC)
    return site


def setup(app: web.Application) -> None:
    """Mount the site at /web (and send / there), unless settings turn the channel off."""
    if not app[SETTINGS].web_enabled:
        return
    app.add_subapp(PREFIX, create_web_app())
    app.router.add_get("/", to_site, allow_head=False)
