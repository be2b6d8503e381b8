"""CORS for /api/*: only the origins configured in CORS_ORIGINS (comma-separated) may read
answers from a browser. The mini-program itself does not need CORS; web clients do."""

from __future__ import annotations

from aiohttp import web

from handlers.json_api import dumps
from handlers.keys import SETTINGS

ALLOWED_METHODS = "GET, POST, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-Id, If-None-Match"
EXPOSED_HEADERS = "Retry-After, X-Request-Id, ETag"
PREFLIGHT_MAX_AGE_S = 600


def allowed_origins(setting: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in setting.split(",") if o.strip())


@web.middleware
async def cors_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None or not request.path.startswith("/api/"):
        return await handler(request)
    allowed = origin in allowed_origins(request.app[SETTINGS].cors_origins)
    preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    if preflight:
        if not allowed:
            return web.json_response(
                {"code": "cors_origin_not_allowed", "message": "该来源不允许跨域访问本接口"},
                status=403,
                dumps=dumps,
            )
        return web.Response(status=204, headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            "Vary": "Origin",
        })  # fmt: skip
    response = await handler(request)
    if allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers["Vary"] = "Origin"
    return response


def setup(app: web.Application) -> None:
    # Outermost, so that error answers made by the inner middlewares carry the headers too.
    app.middlewares.insert(0, cors_middleware)
