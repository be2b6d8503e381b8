"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from config.settings import Settings
from handlers import health, metrics
from handlers.keys import REDIS, SETTINGS
from handlers.middleware import error_middleware, request_id_middleware
from services.db import close_db, init_db


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    opened = await init_db(app[SETTINGS].database_url)
    yield
    if opened:
        await close_db()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    # A short socket timeout keeps /readyz and requests from hanging while Redis is away.
    client = Redis.from_url(
        app[SETTINGS].redis_url,
        socket_timeout=3,
        socket_connect_timeout=2,
        health_check_interval=15,
    )
    app[REDIS] = client
    yield
    await client.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[request_id_middleware, metrics.metrics_middleware, error_middleware],
        client_max_size=64 * 1024 * 1024,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.extend([database_ctx, redis_ctx])  # torn down in reverse
    health.setup(app)
    metrics.setup(app)
    return app
