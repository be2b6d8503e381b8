"""Binding an enterprise and managing agents (经办人) in the mini-program."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.asyncio import Redis

from handlers.idempotency import idempotent
from handlers.keys import REDIS
from handlers.mp_auth import mp_user
from handlers.mp_common import ok, path_id, read_json
from services.bindings import (
    bind_from_body,
    bindings_overview,
    describe_agent,
    invite_from_body,
    redeem_from_body,
    revoke_agent,
)

BodyAction = Callable[[Redis, int, dict[str, Any]], Awaitable[dict[str, Any]]]


def _created(action: BodyAction) -> Handler:
    """A creating POST: JSON in, 201 out, repeatable with an Idempotency-Key."""

    async def handle(request: web.Request) -> web.Response:
        session = await mp_user(request)

        async def produce() -> web.Response:
            body = await read_json(request)
            return ok(await action(request.app[REDIS], session.user_id, body), status=201)

        return await idempotent(request, f"user:{session.user_id}", produce)

    return handle


async def list_bindings(request: web.Request) -> web.Response:
    session = await mp_user(request)
    return ok({"items": await bindings_overview(session.user_id)})


async def revoke(request: web.Request) -> web.Response:
    session = await mp_user(request)
    binding = await revoke_agent(session.user_id, path_id(request))
    return ok(describe_agent(binding))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/mp/bindings", _created(bind_from_body))
    app.router.add_get("/api/mp/bindings", list_bindings, allow_head=False)
    app.router.add_post("/api/mp/agents", _created(invite_from_body))
    app.router.add_post("/api/mp/agents/redeem", _created(redeem_from_body))
    app.router.add_delete("/api/mp/agents/{id}", revoke)
