"""Binding an enterprise and managing agents (经办人) in the mini-program."""

from __future__ import annotations

from aiohttp import web

from handlers.keys import REDIS
from handlers.mp_auth import client_ip, mp_user
from handlers.mp_common import ok, path_id, read_json
from services.bindings import (
    bind_from_body,
    bindings_overview,
    describe_agent,
    invite_from_body,
    redeem_from_body,
    revoke_agent,
)


async def create_binding(request: web.Request) -> web.Response:
    session = await mp_user(request)
    body = await read_json(request)
    bound = await bind_from_body(request.app[REDIS], session.user_id, body, client_ip(request))
    return ok(bound, status=201)


async def list_bindings(request: web.Request) -> web.Response:
    session = await mp_user(request)
    return ok({"items": await bindings_overview(session.user_id)})


async def invite_agent(request: web.Request) -> web.Response:
    session = await mp_user(request)
    body = await read_json(request)
    return ok(await invite_from_body(request.app[REDIS], session.user_id, body), status=201)


async def redeem_agent_code(request: web.Request) -> web.Response:
    session = await mp_user(request)
    body = await read_json(request)
    redeemed = await redeem_from_body(request.app[REDIS], session.user_id, body, client_ip(request))
    return ok(redeemed, status=201)


async def revoke(request: web.Request) -> web.Response:
    session = await mp_user(request)
    binding = await revoke_agent(session.user_id, path_id(request))
    return ok(describe_agent(binding))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/mp/bindings", create_binding)
    app.router.add_get("/api/mp/bindings", list_bindings, allow_head=False)
    app.router.add_post("/api/mp/agents", invite_agent)
    app.router.add_post("/api/mp/agents/redeem", redeem_agent_code)
    app.router.add_delete("/api/mp/agents/{id}", revoke)
