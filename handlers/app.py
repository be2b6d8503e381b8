"""The application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from config.settings import Settings
from handlers import (
    dept,
    dept_objections,
    dev_pki,
    health,
    metrics,
    mp,
    mp_objections,
    ops,
    ops_stats,
    staff,
    terminal,
    verify,
    wechat,
)
from handlers import web as site
from handlers.keys import REDIS, SETTINGS, SIGNER, WORKER
from handlers.middleware import answer_expectations_in_json, error_middleware, request_id_middleware
from infra.db import close_db, init_db
from queues.connection import connect_redis
from queues.worker import Worker, worker_redis
from services.jobs import STREAMS, build_registry
from services.reports.issuing import RENDER_STREAM
from services.reports.signing import SnapshotSigner


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    opened = await init_db(app[SETTINGS].database_url)
    yield
    if opened:
        await close_db()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    # A short socket timeout keeps /readyz and requests from hanging while Redis is away.
    client = connect_redis(
        app[SETTINGS].redis_target,
        socket_timeout=3,
        socket_connect_timeout=2,
        health_check_interval=15,
    )
    app[REDIS] = client
    yield
    await client.aclose()


def workers_ctx(
    concurrency: int, streams: Sequence[str] = STREAMS
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Queue workers inside the serving process, so the embedded default needs no second one.

    Reports get a worker of their own: a report holds its slot while it waits for the process's
    one render thread, so a burst of reports in a shared worker would hold every slot and the
    bot's answers (and the cards' delivery) would wait behind the PDFs."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        from bot.engine import handle as bot_engine  # only a process that runs workers loads it

        settings = app[SETTINGS]
        registry = build_registry(settings, bot_engine=bot_engine)
        redis = worker_redis(settings.redis_target, concurrency=2 * concurrency)
        groups = [
            [s for s in streams if s != RENDER_STREAM],
            [s for s in streams if s == RENDER_STREAM],
        ]
        workers = [
            Worker(redis, registry, group, concurrency=concurrency, context=settings)
            for group in groups
            if group
        ]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        app[WORKER] = workers[0]
        yield
        for worker in workers:  # each finishes in-flight jobs within its grace period
            worker.stop()
        await asyncio.gather(*tasks)
        await redis.aclose()

    return ctx


def create_app(
    settings: Settings,
    *,
    with_workers: int = 0,
    worker_streams: Sequence[str] = STREAMS,
    with_dev_pki: bool = False,
) -> web.Application:
    """The application; with_workers > 0 also runs queue workers with that concurrency on
    worker_streams; with_dev_pki serves the development CA's CRL and TSA (handlers.dev_pki)."""
    app = web.Application(
        middlewares=[request_id_middleware, metrics.metrics_middleware, error_middleware],
        client_max_size=64 * 1024 * 1024,
    )
    app[SETTINGS] = settings
    app[SIGNER] = SnapshotSigner(settings.report_signing_key)
    app.cleanup_ctx.extend([database_ctx, redis_ctx])  # torn down in reverse
    if with_workers:
        app.cleanup_ctx.append(workers_ctx(with_workers, worker_streams))
    health.setup(app)
    metrics.setup(app)
    staff.setup(app)  # people's sign-in for the consoles (/ops and the staff pages)
    terminal.setup_routes(app)  # the self-service terminals' kiosk pages
    ops.setup(app)
    dept.setup(app)
    if with_dev_pki:
        dev_pki.setup(app)  # before verify's /verify/{report_no}: these paths are more specific
    verify.setup(app)
    mp_objections.setup(app)
    dept_objections.setup(app)
    ops_stats.setup(app)
    mp.setup(app)
    wechat.setup(app)
    site.setup(app)  # the enterprise web site, on the same services as mp and the bot
    answer_expectations_in_json(app)
    return app
