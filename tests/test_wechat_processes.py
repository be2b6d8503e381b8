"""The bot worker and the notifier survive SIGKILL: nothing lost, no step or notice doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.state import load_state
from config.catalogue import DOMAINS_BY_NUMBER
from config.settings import Settings
from fakes.wechat import FakeWeChat
from models.enums import Channel, NotificationStatus
from models.report import Report
from models.user import Notification, SubscriptionGrant, User
from queues import enqueue
from services.objections.events import NOTIFY_JOB, NOTIFY_STREAM
from services.reports.issuing import RENDER_STREAM
from services.wechat.messages import InboundMessage
from services.wechat.outbound import OUTBOUND_STREAM
from services.wechat.webhook import INBOUND_STREAM, enqueue_once
from tests.bot_support import NAME, bind, make_enterprise
from tests.conftest import REDIS_URL
from tests.test_queues_processes import eventually
from tests.wechat_engines import PAUSE_S_KEY, PAUSES_KEY, SLEEPING_KEY
from tests.wechat_support import NOTICE_TEMPLATE, SUBSCRIBE_TEMPLATE, wechat_settings

ROOT = Path(__file__).resolve().parent.parent
ALL = sorted(DOMAINS_BY_NUMBER)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


def start_worker(settings: Settings, streams: str, min_idle_s: float) -> subprocess.Popen[bytes]:
    env = os.environ | {f.name.upper(): str(getattr(settings, f.name)) for f in fields(settings)}
    env |= {"REDIS_URL": REDIS_URL, "WX_TEST_STREAMS": streams, "WX_TEST_MIN_IDLE": str(min_idle_s)}
    return subprocess.Popen([sys.executable, "-m", "tests.wechat_jobs"], cwd=ROOT, env=env)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(15)


async def test_killing_the_bot_worker_mid_dialog_loses_no_message_and_doubles_no_step(
    redis: Redis, settings: Settings, db: str
) -> None:
    """The report dialog through the real engine (bot.engine), the worker killed three times:
    after the engine saved the step of "全部" and of "确认" (the job's own transaction not yet
    run, so the same message comes again), and before it saved the step of "1"."""
    user = await User.create(oa_openid="o_alice")
    await bind(user, await make_enterprise())
    words = ["报告", "全部", "近三年", "1", "确认"]
    for n, word in enumerate(words):
        msg = InboundMessage("o_alice", "text", 1_700_000_000 + n, content=word, msg_id=str(n))
        await enqueue_once(redis, msg)
    kills = {"m:1": "after", "m:3": "before", "m:4": "after"}
    await redis.hset(PAUSES_KEY, mapping=kills)
    await redis.set(PAUSE_S_KEY, 30)  # long enough to be killed in

    async def pausing_at(identity: str) -> bool:
        return await redis.get(SLEEPING_KEY) == identity.encode()

    for identity in kills:
        worker = start_worker(settings, INBOUND_STREAM, min_idle_s=1.0)
        try:
            await eventually(
                lambda i=identity: pausing_at(i), f"the worker pauses at {identity}", 40
            )
        finally:
            kill(worker)
        await redis.delete(SLEEPING_KEY)

    async def all_handled() -> bool:
        return await redis.xlen(INBOUND_STREAM) == 0

    worker = start_worker(settings, INBOUND_STREAM, min_idle_s=1.0)
    try:
        await eventually(all_handled, "a restarted worker finishes the dialog", 40)
    finally:
        assert stop(worker) == 0
    report = await Report.get()
    assert (report.requester_id, report.channel, report.domains) == (user.id, Channel.BOT, ALL)
    assert await redis.xlen(RENDER_STREAM) == 1
    replies = [json.loads(f[b"payload"])["text"] for _, f in await redis.xrange(OUTBOUND_STREAM)]
    starts = [f"为“{NAME}”申请", "40个领域：", "已选择：全部40个领域", "时间跨度：", "请确认："]
    starts.append(f"已受理，报告编号 {report.number}")
    assert len(replies) == len(starts), replies
    assert all(r.startswith(s) for r, s in zip(replies, starts, strict=True)), replies
    assert not (await load_state(redis, "o_alice", time.time()))[0].active
    await user.refresh_from_db()
    assert user.oa_last_message_at is not None
    assert int(user.oa_last_message_at.timestamp()) == 1_700_000_004


async def test_a_killed_notifier_sends_each_template_and_subscribe_notice_exactly_once(
    redis: Redis, settings_on_fake: Settings, fake_wechat: FakeWeChat, db: str
) -> None:
    settings = settings_on_fake
    fake = fake_wechat
    fake.templates[NOTICE_TEMPLATE] = ()
    fake.templates[SUBSCRIBE_TEMPLATE] = ("thing1",)
    keys: list[str] = []
    for n in range(60):
        # Outside the 48-hour window: the Official Account part is a template message.
        user = await User.create(oa_openid=f"o_oa{n}", mp_openid=f"o_mp{n}")
        fake.add_follower(settings.wechat_app_id, user.oa_openid, at=0)
        fake.add_user(settings.mp_app_id, user.mp_openid)
        if n % 2 == 0:  # half of them granted one subscribe message
            fake.grant_subscription(user.mp_openid, SUBSCRIBE_TEMPLATE)
            await SubscriptionGrant.create(user=user, template_id=SUBSCRIBE_TEMPLATE, remaining=1)
        for event in range(3):
            key = f"objection-event:{n * 10 + event}"
            keys.append(key)
            payload = {"key": key, "user_id": user.id, "enterprise_id": 1,
                       "text": "您的异议已受理", "page": "pages/objections/detail?id=1",
                       "template": {"data": {"thing1": f"异议进展{event}"}}}  # fmt: skip
            await enqueue(redis, NOTIFY_STREAM, NOTIFY_JOB, payload)

    worker = start_worker(settings, NOTIFY_STREAM, min_idle_s=1.0)
    try:
        await eventually(lambda: _sent_at_least(fake, 40), "the notifier is under way", 30)
    finally:
        kill(worker)
    assert len(fake.sent) < 180 + 30, "the kill came too late to matter"

    async def all_sent() -> bool:
        return await Notification.filter(status=NotificationStatus.SENT).count() == len(keys)

    worker = start_worker(settings, NOTIFY_STREAM, min_idle_s=1.0)
    try:
        await eventually(all_sent, "a restarted notifier sends the rest", 40)
    finally:
        assert stop(worker) == 0
    templates = [m.payload["client_msg_id"] for m in fake.sent if m.kind == "template"]
    assert sorted(templates) == sorted(keys)  # each key once
    subscribed = sorted(m.touser for m in fake.sent if m.kind == "subscribe")
    # One grant each: the first notice used it, and no notice used it twice.
    assert subscribed == sorted(f"o_mp{n}" for n in range(0, 60, 2))
    assert await SubscriptionGrant.filter(remaining__gt=0).count() == 0
    assert [m for m in fake.sent if m.kind == "custom"] == []


async def _sent_at_least(fake: FakeWeChat, n: int) -> bool:
    return len(fake.sent) >= n
