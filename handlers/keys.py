"""Every web.AppKey of the application, in one place."""

from __future__ import annotations

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from config.settings import Settings
from handlers.metrics_registry import AppMetrics
from queues.worker import Worker
from services.signing import SnapshotSigner

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
METRICS = web.AppKey("metrics", AppMetrics)
WORKER = web.AppKey("worker", Worker)
SIGNER = web.AppKey("signer", SnapshotSigner)
MP_HTTP = web.AppKey("mp_http", ClientSession)  # mini-program login's calls to WeChat
