"""A worker process for the WeChat tests: ``python -m tests.wechat_jobs``, set up by environment.

It runs the bot's inbound job (with the real engine, pausing where a test says:
tests.wechat_engines.pausing_bot_engine) and the notifier through
queues.run_worker_process, as `run.py worker` does; settings come from the environment
(DATABASE_URL, REDIS_URL, WECHAT_API_BASE, ...). WX_TEST_STREAMS picks the streams.
"""

from __future__ import annotations

import os
import sys

from config.logging import setup_logging
from config.settings import Settings
from infra.db import database
from queues import Registry, StreamConfig, run_worker_process
from services.objections.events import NOTIFY_JOB
from services.wechat.inbound import inbound_job
from services.wechat.notifier import notify_job
from services.wechat.webhook import INBOUND_JOB
from tests.wechat_engines import pausing_bot_engine


def main() -> int:
    setup_logging(os.environ.get("WX_TEST_LOG_LEVEL", "WARNING"))
    settings = Settings.from_env()
    registry = Registry()
    registry.add(INBOUND_JOB, inbound_job(pausing_bot_engine()))
    registry.add(NOTIFY_JOB, notify_job())
    min_idle = float(os.environ.get("WX_TEST_MIN_IDLE", 60))
    streams = [StreamConfig(s, min_idle_s=min_idle) for s in os.environ["WX_TEST_STREAMS"].split()]
    return run_worker_process(
        settings,
        streams,
        8,
        registry,
        lifespan=lambda: database(settings.database_url),
        block_ms=200,
        janitor_interval_s=0.2,
        grace_s=5.0,
    )


if __name__ == "__main__":
    sys.exit(main())
