"""Who is calling by a machine credential: the ops token (Prometheus scraping /metrics) and
department API keys. People sign in through handlers.staff."""

from __future__ import annotations

from aiohttp import web

from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import client_ip
from services.accounts.department_keys import DepartmentIdentity, authenticate_department
from services.accounts.ops_token import check_token
from services.errors import Unauthorized


async def require_ops_token(request: web.Request) -> None:
    """Raise unless the request carries the ops token as a Bearer header (wrong ones counted)."""
    given = bearer_token(request)
    if not given:
        raise Unauthorized("请提供运维令牌（OPS_TOKEN）", code="ops_token_required")
    await check_token(request.app[REDIS], request.app[SETTINGS].ops_token, given,
                      client_ip(request))  # fmt: skip


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def require_department(request: web.Request) -> DepartmentIdentity:
    """The department whose API key the request carries (Bearer), or 401/403."""
    return await authenticate_department(bearer_token(request))
