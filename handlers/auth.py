"""Who is calling: the ops token for now (enterprise and department identities join later)."""

from __future__ import annotations

import hmac

from aiohttp import web

from handlers.keys import SETTINGS
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
