"""Every web.AppKey of the application, in one place."""

from __future__ import annotations

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from config.settings import Settings
from handlers.metrics_registry import AppMetrics
from queues.worker import Worker
from services.reports.signing import SnapshotSigner
from services.wechat.webhook import InboundQueue

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
METRICS = web.AppKey("metrics", AppMetrics)
WORKER = web.AppKey("worker", Worker)
SIGNER = web.AppKey("signer", SnapshotSigner)
MP_HTTP = web.AppKey("mp_http", ClientSession)  # mini-program login's calls to WeChat
WECHAT_INBOUND = web.AppKey("wechat_inbound", InboundQueue)
# Development only (run.py with the fakes): the demo enterprise's binding details, shown on the
# web site so that a newcomer can bind without reading the docs.
WEB_DEMO_BINDING = web.AppKey("web_demo_binding", dict)
