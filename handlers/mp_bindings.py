"""Binding an enterprise and managing agents (经办人) in the mini-program."""

from __future__ import annotations

from aiohttp import web

from handlers.idempotency import created_by_user
from handlers.json_api import ok, path_id
from handlers.mp_auth import mp_user
from services.accounts.bindings import (
    bind_from_body,
    bindings_overview,
    describe_agent,
    invite_from_body,
    redeem_from_body,
    revoke_agent,
)


async def list_bindings(request: web.Request) -> web.Response:
    session = await mp_user(request)
    return ok({"items": await bindings_overview(session.user_id)})


async def revoke(request: web.Request) -> web.Response:
    session = await mp_user(request)
    binding = await revoke_agent(session.user_id, path_id(request))
    return ok(describe_agent(binding))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/mp/bindings", created_by_user(bind_from_body, with_client_ip=True))
    app.router.add_get("/api/mp/bindings", list_bindings, allow_head=False)
    app.router.add_post("/api/mp/agents", created_by_user(invite_from_body))
    app.router.add_post(
        "/api/mp/agents/redeem", created_by_user(redeem_from_body, with_client_ip=True)
    )
    app.router.add_delete("/api/mp/agents/{id}", revoke)
