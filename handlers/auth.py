"""Who is calling: the ops token, and department API keys (enterprise identities join later)."""

from __future__ import annotations

import hmac

from aiohttp import web

from handlers.keys import SETTINGS
from services.departments import DepartmentIdentity, authenticate_department
from services.errors import Forbidden, Unauthorized

OPS_COOKIE = "yucredit_ops"


def ops_token_from(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return request.cookies.get(OPS_COOKIE, "")


def require_ops(request: web.Request) -> str:
    """Raise unless the request carries the ops token (Bearer header or ops cookie)."""
    expected = request.app[SETTINGS].ops_token
    given = ops_token_from(request)
    if not given:
        raise Unauthorized("请提供运维令牌（OPS_TOKEN）", code="ops_token_required")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("运维令牌无效", code="ops_token_invalid")
    return "ops"


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def require_department(request: web.Request) -> DepartmentIdentity:
    """The department whose API key the request carries (Bearer), or 401/403."""
    return await authenticate_department(bearer_token(request))
