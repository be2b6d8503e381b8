"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web

from handlers.keys import REDIS
from infra.health import check_readiness


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks = await check_readiness(request.app[REDIS])
    ready = all(c["ok"] for c in checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "message": "服务就绪"
        if ready
        else "依赖服务不可用：" + "、".join(c["name"] for c in checks.values() if not c["ok"]),
        "checks": checks,
    }
    return web.json_response(body, status=200 if ready else 503)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
