"""Binding an enterprise and managing its agents (经办人), with the mini-program's own rules."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.json_api import path_id
from handlers.keys import REDIS, WEB_DEMO_BINDING
from handlers.mp_auth import client_ip
from handlers.web.session import PREFIX, render, see_other, session_of
from models.enums import Channel
from services.accounts.bindings import (
    bind_from_body,
    bindings_overview,
    invite_from_body,
    redeem_from_body,
    revoke_agent,
)
from services.errors import ServiceError

DONE = {"bound": "绑定成功", "redeemed": "已领取授权", "revoked": "已撤销该经办人的授权"}


async def form_of(request: web.Request) -> dict[str, Any]:
    """A URL-encoded form's fields (the CSRF token left out)."""
    return {k: str(v) for k, v in (await request.post()).items() if k != "csrf_token"}


async def page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    items = await bindings_overview(session_of(request).user_id)
    done = DONE.get(request.query.get("done", ""))
    demo = request.config_dict.get(WEB_DEMO_BINDING)  # development only: run.py with the fakes
    return render(
        request, "enterprises.html", status=status, items=items, done=done, demo=demo, **context
    )


async def show(request: web.Request) -> web.Response:
    return await page(request)


async def bind(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    try:
        await bind_from_body(
            request.config_dict[REDIS], session_of(request).user_id, form,
            client_ip(request), Channel.WEB.value,
        )  # fmt: skip
    except ServiceError as exc:
        form.pop("id_number", None)  # never echoed back into the page
        return await page(request, status=exc.status, bind_error=exc, bind_form=form)
    raise see_other(f"{PREFIX}/enterprises?done=bound")


async def invite(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    body = {**form, "scopes": (await request.post()).getall("scopes", [])}
    try:
        result = await invite_from_body(
            request.config_dict[REDIS], session_of(request).user_id, body
        )
    except ServiceError as exc:
        return await page(request, status=exc.status, invite_error=exc, invite_form=form)
    return await page(request, status=201, invited=result)


async def redeem(request: web.Request) -> web.StreamResponse:
    form = await form_of(request)
    try:
        await redeem_from_body(
            request.config_dict[REDIS],
            session_of(request).user_id,
            form,
            client_ip(request),
            Channel.WEB.value,
        )
    except ServiceError as exc:
        return await page(request, status=exc.status, redeem_error=exc)
    raise see_other(f"{PREFIX}/enterprises?done=redeemed")


async def revoke(request: web.Request) -> web.StreamResponse:
    await revoke_agent(session_of(request).user_id, path_id(request))
    raise see_other(f"{PREFIX}/enterprises?done=revoked")


def setup(app: web.Application) -> None:
    app.router.add_get("/enterprises", show)
    app.router.add_post("/enterprises", bind)
    app.router.add_post("/agents", invite)
    app.router.add_post("/agents/redeem", redeem)
    app.router.add_post("/agents/{id}/revoke", revoke)
