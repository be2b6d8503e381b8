"""Prometheus metrics: HTTP request counts and latency by route, and the queue figures."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest

from handlers.auth import require_ops_token
from handlers.keys import METRICS, REDIS
from handlers.metrics_registry import AppMetrics
from services.stats.queues import queue_overview


def route_label(request: web.Request) -> str:
    # The route's pattern, not the raw path: /api/mp/reports/{id} must stay one series.
    info = request.match_info
    route = info.route if info is not None else None
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[METRICS]
        route = route_label(request)
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route, request.method).observe(time.perf_counter() - started)


async def metrics_endpoint(request: web.Request) -> web.Response:
    await require_ops_token(request)
    metrics = request.app[METRICS]
    metrics.set_queue_figures(await queue_overview(request.app[REDIS]))
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app[METRICS] = AppMetrics()
    app.router.add_get("/metrics", metrics_endpoint)
