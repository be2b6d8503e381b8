"""The notifier: objection notices by customer-service, template and subscribe messages, once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat import FakeWeChat
from models.enums import NotificationStatus
from models.user import Notification, SubscriptionGrant, User
from queues.registry import JobContext
from services.objections.events import NOTIFY_JOB, NOTIFY_STREAM
from services.wechat.inbound import inbound_job
from services.wechat.messages import InboundMessage
from services.wechat.notifier import notify_job, template_data
from tests.wechat_engines import echo_engine
from tests.wechat_support import NOTICE_TEMPLATE, SUBSCRIBE_TEMPLATE, wechat_settings

CUSTOM = "/cgi-bin/message/custom/send"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


@pytest.fixture
def fake(fake_wechat: FakeWeChat, settings: Settings) -> FakeWeChat:
    fake_wechat.templates[NOTICE_TEMPLATE] = ()
    fake_wechat.templates[SUBSCRIBE_TEMPLATE] = ("thing1",)
    fake_wechat.add_follower(settings.wechat_app_id, "o_alice")
    fake_wechat.add_user(settings.mp_app_id, "o_alice_mp")
    return fake_wechat


async def make_user(hours_since_last_message: float | None = 0.1) -> User:
    wrote = (
        None
        if hours_since_last_message is None
        else datetime.now(UTC) - timedelta(hours=hours_since_last_message)
    )
    return await User.create(oa_openid="o_alice", mp_openid="o_alice_mp", oa_last_message_at=wrote)


def notice(user: User, event: int = 1) -> dict[str, Any]:
    return {
        "key": f"objection-event:{event}",
        "user_id": user.id,
        "enterprise_id": 1,
        "text": "您的异议 YY20261127001 已受理，将于5个工作日内办结。",
        "template": {"data": {"thing1": "异议已受理"}},
        "page": "pages/objections/detail?id=1",
    }


async def run(redis: Redis, settings: Settings, payload: dict[str, Any], job: str = "1-0") -> None:
    ctx = JobContext(redis, settings, NOTIFY_STREAM, NOTIFY_JOB, job, job, 1, None)
    await notify_job()(ctx, payload)


async def test_inside_the_window_the_notice_is_a_customer_service_message_sent_once(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    user = await make_user()
    await run(redis, settings_on_fake, notice(user), "1-0")
    await run(redis, settings_on_fake, notice(user), "1-0")  # redelivered
    await run(redis, settings_on_fake, notice(user), "2-0")  # enqueued twice by mistake

    [sent] = fake.sent_to("o_alice")
    assert (sent.kind, sent.payload["text"]["content"]) == ("custom", notice(user)["text"])
    row = await Notification.get(key="objection-event:1")
    assert (row.status, row.channel, row.attempts) == (NotificationStatus.SENT, "custom", 1)
    assert row.sent_at is not None


async def test_outside_the_window_the_notice_is_a_template_message_keyed_by_its_event(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    user = await make_user(hours_since_last_message=60)
    await run(redis, settings_on_fake, notice(user))

    [sent] = fake.sent_to("o_alice")
    assert sent.kind == "template"
    assert sent.payload["client_msg_id"] == "objection-event:1"
    assert sent.payload["data"] == {"thing1": {"value": "异议已受理"}}
    assert fake.calls_to(CUSTOM) == []


async def test_when_wechat_says_the_window_closed_the_notice_falls_back_to_a_template(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    user = await make_user()
    fake.fail_next(CUSTOM, 45015)
    await run(redis, settings_on_fake, notice(user))

    assert [m.kind for m in fake.sent_to("o_alice")] == ["template"]
    assert (await Notification.get(key="objection-event:1")).channel == "template"


async def test_without_a_template_the_notice_waits_for_the_user_to_write(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    from dataclasses import replace

    no_template = replace(settings_on_fake, wechat_notice_template_id="")
    user = await make_user(hours_since_last_message=60)
    await run(redis, no_template, notice(user))
    assert fake.sent_to("o_alice") == []
    assert (await Notification.get(key="objection-event:1")).status == NotificationStatus.HELD

    fake.touch("o_alice")
    msg = InboundMessage("o_alice", "text", int(time.time()), content="进度？", msg_id="8")
    job = JobContext(redis, no_template, "wx:inbound", "wx.inbound", "5-0", "5-0", 1, "o_alice")
    await inbound_job(echo_engine)(job, msg.to_dict())
    [(entry_id, fields)] = await redis.xrange(NOTIFY_STREAM)
    await run(redis, no_template, json.loads(fields[b"payload"]), entry_id.decode())

    [sent] = fake.sent_to("o_alice")
    assert sent.payload["text"]["content"] == notice(user)["text"]
    assert (await Notification.get(key="objection-event:1")).status == NotificationStatus.SENT


async def test_a_subscribe_message_goes_out_while_grants_last_and_uses_one_each(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    user = await make_user()
    await SubscriptionGrant.create(user=user, template_id=SUBSCRIBE_TEMPLATE, remaining=2)
    fake.grant_subscription("o_alice_mp", SUBSCRIBE_TEMPLATE, times=2)
    for event in (1, 2, 3):
        await run(redis, settings_on_fake, notice(user, event), f"{event}-0")
        fake.touch("o_alice")

    subscribes = fake.sent_to("o_alice_mp", "subscribe")
    assert len(subscribes) == 2
    assert subscribes[0].payload["page"] == "pages/objections/detail?id=1"
    assert subscribes[0].payload["template_id"] == SUBSCRIBE_TEMPLATE
    assert (await SubscriptionGrant.get(user=user)).remaining == 0
    assert len(fake.sent_to("o_alice", "custom")) == 3


async def test_a_notice_whose_sender_died_mid_send_is_sent_again_at_least_once(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    """The documented ambiguity: a customer-service message has no idempotency id at WeChat."""
    user = await make_user()
    await run(redis, settings_on_fake, notice(user))
    # As if the notifier had died after WeChat's answer and before marking the row sent:
    row = await Notification.get(key="objection-event:1")
    row.status = NotificationStatus.SENDING
    row.payload["progress"].pop("oa_done")
    await row.save()

    await run(redis, settings_on_fake, notice(user))
    assert len(fake.sent_to("o_alice", "custom")) == 2
    assert (await Notification.get(key="objection-event:1")).attempts == 2


async def test_a_notice_for_an_unknown_user_is_recorded_as_failed(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    await run(redis, settings_on_fake, {"key": "objection-event:9", "user_id": 999, "text": "x"})

    row = await Notification.get(key="objection-event:9")
    assert (row.status, row.error) == (NotificationStatus.FAILED, "no such user")
    assert fake.sent == []


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"data": {"thing1": "已受理"}}, {"thing1": {"value": "已受理"}}),
        ({"thing1": {"value": "已受理"}}, {"thing1": {"value": "已受理"}}),
        ({"template_id": "t", "time2": "2026-11-27"}, {"time2": {"value": "2026-11-27"}}),
        (None, {}),
    ],
)
def test_template_data_accepts_plain_values_and_wechats_shape(
    template: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    assert template_data(template) == expected


async def test_a_user_who_unfollowed_is_not_retried_for_ever(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    user = await make_user(hours_since_last_message=60)
    fake.remove_follower(settings_on_fake.wechat_app_id, "o_alice")
    await run(redis, settings_on_fake, notice(user))

    row = await Notification.get(key="objection-event:1")
    assert row.status == NotificationStatus.FAILED  # and not retried: nothing would come of it
    assert row.error is not None and "43004" in row.error
    assert fake.sent == []


async def test_the_objection_services_fields_fill_both_templates_keywords(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    fake.templates[SUBSCRIBE_TEMPLATE] = ("character_string1", "phrase2", "time3", "thing4")
    user = await make_user(hours_since_last_message=60)
    await SubscriptionGrant.create(user=user, template_id=SUBSCRIBE_TEMPLATE, remaining=1)
    fake.grant_subscription("o_alice_mp", SUBSCRIBE_TEMPLATE)
    fields = {"ticket_no": "YY20261128000001", "status": "已办结（已更正）", "note": "",
              "time": "2026-11-28 10:00"}  # fmt: skip
    await run(redis, settings_on_fake, {**notice(user), "template": fields})

    [template] = fake.sent_to("o_alice", "template")
    assert template.payload["data"] == {
        "keyword1": {"value": "YY20261128000001"},
        "keyword2": {"value": "已办结（已更正）"},
        "keyword3": {"value": "2026-11-28 10:00"},
        "remark": {"value": ""},
    }
    [subscribe] = fake.sent_to("o_alice_mp", "subscribe")  # WeChat took it: no 47003
    assert subscribe.payload["data"] == {
        "character_string1": {"value": "YY20261128000001"},
        "phrase2": {"value": "已办结"},  # five characters at most
        "time3": {"value": "2026-11-28 10:00"},
        "thing4": {"value": "无"},  # an empty value is refused
    }


@pytest.mark.parametrize(
    ("keyword", "value", "expected"),
    [
        ("thing4", "异" * 25, "异" * 19 + "…"),
        ("phrase2", "不予受理决定", "不予受理决"),
        ("character_string1", "", "-"),
        ("time3", "", "无"),
    ],
)
def test_subscribe_values_are_fitted_to_their_keyword_type(
    keyword: str, value: str, expected: str
) -> None:
    fitted = template_data({"v": value}, f"{keyword}=v", subscribe=True)
    assert fitted == {keyword: {"value": expected}}
