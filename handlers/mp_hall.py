"""Service-hall windows and self-service terminals (/api/hall): an operator key, and the
enterprise's consent checked at the window."""

from __future__ import annotations

from aiohttp import web

from handlers.idempotency import idempotent
from handlers.json_api import ok, path_id, read_json
from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import bearer_token, client_ip, limit_ip
from models.user import Operator
from services.access import Actor
from services.accounts.operators import authenticate_operator
from services.ratelimit import check_rate
from services.reports.requests import ReportAsk, report_for_operator, request_report


async def _operator(request: web.Request) -> Operator:
    """The calling operator, within the per-IP and per-operator rate limits."""
    await limit_ip(request)
    operator = await authenticate_operator(bearer_token(request) or "")
    await check_rate(request.app[REDIS], f"hall:operator:{operator.id}",
                     request.app[SETTINGS].mp_rate_per_user)  # fmt: skip
    return operator


async def create_report(request: web.Request) -> web.Response:
    operator = await _operator(request)

    async def produce() -> web.Response:
        body = await read_json(request)
        result = await request_report(
            request.app[REDIS],
            Actor(operator=operator),
            ReportAsk.from_body(body),
            str(operator.channel),
            consent=body.get("consent"),
            client_ip=client_ip(request),
        )
        return ok(result, status=202)

    return await idempotent(request, f"operator:{operator.id}", produce)


async def get_report(request: web.Request) -> web.Response:
    operator = await _operator(request)
    return ok(await report_for_operator(request.app[SETTINGS], operator, path_id(request)))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/hall/reports", create_report)
    app.router.add_get("/api/hall/reports/{id}", get_report, allow_head=False)
