"""`worker`: queue workers in a process of their own, until SIGTERM."""

from __future__ import annotations

import argparse

from cli.common import Commands, command, refuse
from config.settings import Settings


def register(commands: Commands) -> None:
    worker = command(commands, "worker", run_worker, "run queue workers until SIGTERM")
    worker.add_argument("--streams", nargs="*", default=None, help="default: all streams")
    worker.add_argument("--concurrency", type=int, default=8)


def known_streams(requested: list[str] | None) -> list[str] | None:
    """The streams asked for (default: all), or None after saying which are unknown."""
    from services.jobs import STREAMS

    streams = requested or list(STREAMS)
    unknown = sorted(set(streams) - set(STREAMS))
    if unknown:
        refuse(f"未知的队列 {unknown}，可选：{list(STREAMS)}")
        return None
    return streams


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    from infra.db import database
    from queues.worker import run_worker_process
    from services.jobs import build_registry
    from services.reports.issuing import RENDER_STREAM
    from services.wechat.webhook import INBOUND_STREAM

    streams = known_streams(args.streams)
    if streams is None:
        return 2
    from bot.engine import handle, warm

    if INBOUND_STREAM in streams:  # jieba's dictionary and the FAQ index, before the first message
        warm(settings)
    if RENDER_STREAM in streams:  # fonts, pyHanko and the seal picture, before the first report
        from services.reports.rendering import warm_render_thread

        warm_render_thread(settings).result()
    return run_worker_process(
        settings,
        streams,
        args.concurrency,
        build_registry(settings, bot_engine=handle),
        lifespan=lambda: database(settings.database_url),
    )
