"""Who is calling: the ops token, and department API keys (enterprise identities join later)."""

from __future__ import annotations

from aiohttp import web

from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import client_ip
from services.accounts.department_keys import DepartmentIdentity, authenticate_department
from services.accounts.ops_sessions import check_token, require_session
from services.errors import Unauthorized

# Holds an ops session id (services.accounts.ops_sessions), never the token.
OPS_COOKIE = "yucredit_ops"


async def require_ops(request: web.Request) -> str:
    """Raise unless the request carries the ops token (Bearer header, wrong ones counted) or
    the cookie of a live ops session."""
    given = bearer_token(request)
    redis = request.app[REDIS]
    if given:
        await check_token(redis, request.app[SETTINGS].ops_token, given, client_ip(request))
        return "ops"
    session_id = request.cookies.get(OPS_COOKIE, "")
    if not session_id:
        raise Unauthorized("请提供运维令牌（OPS_TOKEN）", code="ops_token_required")
    await require_session(redis, session_id)
    return "ops"


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def require_department(request: web.Request) -> DepartmentIdentity:
    """The department whose API key the request carries (Bearer), or 401/403."""
    return await authenticate_department(bearer_token(request))
