"""The bot worker and the notifier survive SIGKILL: nothing lost, no step or notice doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat import FakeWeChat
from models.enums import NotificationStatus
from models.user import Notification, SubscriptionGrant, User
from queues import enqueue
from services.objections.events import NOTIFY_JOB, NOTIFY_STREAM
from services.wechat.messages import InboundMessage
from services.wechat.outbound import OUTBOUND_STREAM
from services.wechat.webhook import INBOUND_STREAM, enqueue_once
from tests.conftest import REDIS_URL
from tests.test_queues_processes import eventually
from tests.wechat_engines import SLEEPING_KEY, state_key
from tests.wechat_support import NOTICE_TEMPLATE, SUBSCRIBE_TEMPLATE, wechat_settings

ROOT = Path(__file__).resolve().parent.parent


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


async def test_killing_the_bot_worker_mid_dialog_loses_neither_message_nor_state(
    redis: Redis, settings: Settings, db: str
) -> None:
    words = ["a", "b slow-before", "c", "d slow-after", "e"]
    for n, word in enumerate(words):
        msg = InboundMessage("o_alice", "text", 1_700_000_000 + n, content=word, msg_id=str(n))
        await enqueue_once(redis, msg)
    await redis.set("bot:test:pause", 30)  # long enough to be killed in

    async def pausing_at(word: str) -> bool:
        return await redis.get(SLEEPING_KEY) == word.encode()

    async def state() -> dict:
        return json.loads(await redis.get(state_key("o_alice")) or "{}")

    # Killed before "b" saved its state, then again after "d" saved its state.
    for word in ("b slow-before", "d slow-after"):
        worker = start_worker(settings, INBOUND_STREAM, min_idle_s=1.0)
        try:
            await eventually(lambda w=word: pausing_at(w), f"the worker pauses at {word!r}", 30)
        finally:
            kill(worker)
        await redis.delete(SLEEPING_KEY)

    async def all_handled() -> bool:
        return (await state()).get("steps") == 5 and await redis.xlen(INBOUND_STREAM) == 0

    worker = start_worker(settings, INBOUND_STREAM, min_idle_s=1.0)
    try:
        await eventually(all_handled, "a restarted worker finishes the dialog", 30)
    finally:
        assert stop(worker) == 0
    assert (await state())["log"] == words
    replies = [json.loads(f[b"payload"])["text"] for _, f in await redis.xrange(OUTBOUND_STREAM)]
    assert replies == [f"第{n}步：{word}" for n, word in enumerate(words, 1)]
    user = await User.get(oa_openid="o_alice")
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
