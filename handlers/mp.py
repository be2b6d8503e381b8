"""The mini-program API (/api/mp): login, binding, the catalogue, reports.

Handlers parse, authenticate (handlers.mp_auth) and call one service each.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from handlers import cors, mp_bindings, mp_hall, openapi
from handlers.idempotency import created_by_user
from handlers.json_api import dumps, ok, path_id, read_json
from handlers.keys import MP_HTTP, REDIS, SETTINGS
from handlers.mp_auth import bearer_token, client_ip, limit_ip, mp_user
from models.enums import Channel
from services.access import Actor
from services.accounts import bindings
from services.accounts.mp_login import login as mp_login
from services.accounts.mp_sessions import end_session
from services.reports.requests import (
    ReportAsk,
    history_for_user,
    page_params,
    report_for_user,
    report_options,
    request_report,
)


async def login(request: web.Request) -> web.Response:
    await limit_ip(request)
    body = await read_json(request)
    result = await mp_login(request.app[REDIS], request.app[MP_HTTP], request.app[SETTINGS],
                            body.get("code"), client=client_ip(request))  # fmt: skip
    return ok({"token": result.token, "expires_in": result.expires_in})


async def logout(request: web.Request) -> web.Response:
    await mp_user(request)
    await end_session(request.app[REDIS], bearer_token(request) or "")
    return ok({"message": "已退出登录"})


@functools.cache
def _catalogue() -> tuple[bytes, str]:
    # The catalogue is code: serialise it once per process.
    body = dumps(report_options()).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def domains(request: web.Request) -> web.Response:
    """Public: the policy's catalogue, so that a client can draw its picker before login.

    Not rate-limited: it is served from memory (and 304 with its ETag), so counting it in Redis
    would cost more than answering it."""
    body, etag = _catalogue()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


async def _request_report(redis: Redis, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    ask = ReportAsk.from_body(body)
    return await request_report(redis, Actor(user_id=user_id), ask, Channel.MINIPROGRAM.value)


async def list_reports(request: web.Request) -> web.Response:
    session = await mp_user(request)
    page, size = page_params(request.query.get("page"), request.query.get("page_size"))
    result = await history_for_user(request.app[SETTINGS], session.user_id,
                                    request.query.get("uscc"), page, size)  # fmt: skip
    return ok(result)


async def get_report(request: web.Request) -> web.Response:
    session = await mp_user(request)
    result = await report_for_user(request.app[SETTINGS], session.user_id, path_id(request))
    return ok(result)


async def http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[MP_HTTP] = session
        yield


def setup(app: web.Application) -> None:
    """The mini-program API, the window API, CORS and the OpenAPI document."""
    bindings.configure(app[SETTINGS])
    app.cleanup_ctx.append(http_client_ctx)
    app.router.add_post("/api/mp/login", login)
    app.router.add_post("/api/mp/logout", logout)
    app.router.add_get("/api/mp/domains", domains, allow_head=False)
    app.router.add_post("/api/mp/reports", created_by_user(_request_report, status=202))
    app.router.add_get("/api/mp/reports", list_reports, allow_head=False)
    app.router.add_get("/api/mp/reports/{id}", get_report, allow_head=False)
    mp_bindings.setup(app)
    mp_hall.setup(app)
    openapi.setup(app)
    cors.setup(app)
