"""The sender: customer-service messages inside the window and quota, fallbacks outside them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat import FakeWeChat
from models.enums import ReportStatus
from models.report import Report
from models.user import User
from queues.registry import JobContext
from services.wechat.inbound import inbound_job
from services.wechat.messages import InboundMessage, OutboundMessage
from services.wechat.outbound import (
    OUTBOUND_JOB,
    OUTBOUND_STREAM,
    announce_bot_reports,
    held_key,
    outbound_job,
    quota_key,
)
from tests.wechat_engines import echo_engine
from tests.wechat_support import NOTICE_TEMPLATE, PNG, ready_report, wechat_settings

CUSTOM = "/cgi-bin/message/custom/send"
UPLOAD = "/cgi-bin/media/upload"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


@pytest.fixture
def fake(fake_wechat: FakeWeChat, settings: Settings) -> FakeWeChat:
    fake_wechat.templates[NOTICE_TEMPLATE] = ()
    fake_wechat.add_follower(settings.wechat_app_id, "o_alice")
    return fake_wechat


@pytest.fixture
async def alice(db: str) -> User:
    """A user who wrote a minute ago: the 48-hour window is open."""
    return await User.create(
        oa_openid="o_alice", oa_last_message_at=datetime.now(UTC) - timedelta(minutes=1)
    )


def ctx(redis: Redis, settings: Settings, job_id: str = "1-0") -> JobContext:
    return JobContext(redis, settings, OUTBOUND_STREAM, OUTBOUND_JOB, job_id, job_id, 1, "o_alice")


async def send(redis: Redis, settings: Settings, msg: OutboundMessage, job_id: str = "1-0") -> None:
    await outbound_job()(ctx(redis, settings, job_id), msg.to_dict())


def texts(fake: FakeWeChat, openid: str = "o_alice") -> list[str]:
    return [m.payload["text"]["content"] for m in fake.sent_to(openid, "custom")
            if m.payload["msgtype"] == "text"]  # fmt: skip


async def test_a_text_reply_is_sent_once_however_often_its_job_is_delivered(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    msg = OutboundMessage("o_alice", "text", text="请问您要查询哪家企业？")
    await send(redis, settings_on_fake, msg)
    await send(redis, settings_on_fake, msg)  # redelivered after a lost ack

    assert texts(fake) == ["请问您要查询哪家企业？"]
    assert await redis.get(quota_key("o_alice")) == b"1"


async def test_a_long_text_goes_out_in_pieces_that_wechat_accepts(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    text = "\n".join(f"第{n}条记录：" + "违法事实" * 20 for n in range(30))
    await send(redis, settings_on_fake, OutboundMessage("o_alice", "text", text=text))

    pieces = texts(fake)
    assert len(pieces) > 1 and all(len(p.encode()) <= 2048 for p in pieces)
    assert "".join(pieces) == text


async def test_a_ready_report_goes_out_as_its_card_then_its_links(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    report = await ready_report(settings_on_fake, alice)
    msg = OutboundMessage("o_alice", "report", report_id=report.id)
    await send(redis, settings_on_fake, msg, "1-0")
    fake.touch("o_alice")
    await redis.delete(quota_key("o_alice"))
    await send(redis, settings_on_fake, msg, "2-0")  # asked again: the card is not uploaded again

    kinds = [m.payload["msgtype"] for m in fake.sent_to("o_alice")]
    assert kinds == ["image", "text", "image", "text"]
    [upload] = fake.calls_to(UPLOAD)
    media_id = fake.sent_to("o_alice")[0].payload["image"]["media_id"]
    assert fake.media[media_id].data == PNG
    links = texts(fake)[0]
    assert report.number in links and report.verify_code in links
    assert f"/r/{report.number}.pdf?e=" in links
    assert f"/verify/{report.number}?c={report.verify_code}" in links


async def test_outside_the_48_hour_window_a_report_is_announced_by_template_and_held(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    user = await User.create(
        oa_openid="o_alice", oa_last_message_at=datetime.now(UTC) - timedelta(hours=49)
    )
    report = await ready_report(settings_on_fake, user)
    msg = OutboundMessage("o_alice", "report", report_id=report.id)
    await send(redis, settings_on_fake, msg)
    await send(redis, settings_on_fake, msg)  # a retry neither announces nor holds twice

    [template] = fake.sent_to("o_alice", "template")
    assert template.payload["template_id"] == NOTICE_TEMPLATE
    assert template.payload["url"].endswith(f"/verify/{report.number}?c={report.verify_code}")
    assert fake.sent_to("o_alice", "custom") == []
    assert fake.calls_to(CUSTOM) == []  # we knew better than to try
    assert [json.loads(m) for m in await redis.lrange(held_key("o_alice"), 0, -1)] == [
        msg.to_dict()
    ]


async def test_past_the_quota_a_text_is_held_until_the_user_writes_and_then_sent(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    await redis.set(quota_key("o_alice"), settings_on_fake.wechat_cs_quota)
    await send(redis, settings_on_fake, OutboundMessage("o_alice", "text", text="稍后送达"))
    assert texts(fake) == []

    # The user writes: the bot worker releases what was held, ahead of its own reply.
    inbound = InboundMessage("o_alice", "text", int(time.time()), content="在吗", msg_id="5")
    job = JobContext(
        redis, settings_on_fake, "wx:inbound", "wx.inbound", "9-0", "9-0", 1, "o_alice"
    )
    fake.touch("o_alice")
    await inbound_job(echo_engine)(job, inbound.to_dict())
    for entry_id, fields in await redis.xrange(OUTBOUND_STREAM):
        queued = OutboundMessage.from_dict(json.loads(fields[b"payload"]))
        await send(redis, settings_on_fake, queued, entry_id.decode())

    assert texts(fake) == ["稍后送达", "你说：在吗"]


async def test_wechats_45047_is_believed_over_our_own_count(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    fake.fail_next(CUSTOM, 45047)
    await send(redis, settings_on_fake, OutboundMessage("o_alice", "text", text="第六条"))

    assert texts(fake) == []
    assert await redis.llen(held_key("o_alice")) == 1
    assert int(await redis.get(quota_key("o_alice"))) == settings_on_fake.wechat_cs_quota


async def test_a_user_wechat_does_not_know_is_given_up_on_without_retries(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, db: str
) -> None:
    await User.create(oa_openid="o_stranger", oa_last_message_at=datetime.now(UTC))
    await send(redis, settings_on_fake, OutboundMessage("o_stranger", "text", text="你好"))

    assert [c.errcode for c in fake.calls_to(CUSTOM)] == [40003]


async def test_a_report_asked_for_in_the_bot_is_announced_once_when_it_is_ready(
    redis: Redis, settings: Settings, alice: User
) -> None:
    bot_report = await ready_report(settings, alice, channel="bot")
    mp_report = await ready_report(settings, alice, channel="miniprogram")
    await Report.filter(id__in=[bot_report.id, mp_report.id]).update(status=ReportStatus.PENDING)

    async def render(ctx: JobContext, payload: dict[str, Any]) -> None:
        await Report.filter(id=payload["report_id"]).update(status=ReportStatus.READY)

    handle = announce_bot_reports(render)
    job = JobContext(redis, settings, "reports:render", "report.render", "3-0", "3-0", 1, None)
    for report in (bot_report, bot_report, mp_report):  # the first one delivered twice
        await handle(job, {"report_id": report.id})

    rows = await redis.xrange(OUTBOUND_STREAM)
    assert [(f[b"key"], json.loads(f[b"payload"])) for _, f in rows] == [
        (b"o_alice", OutboundMessage("o_alice", "report", report_id=bot_report.id).to_dict())
    ]


async def test_an_image_reply_is_uploaded_and_sent(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User, tmp_path: Any
) -> None:
    card = tmp_path / "card.png"
    card.write_bytes(PNG)
    await send(redis, settings_on_fake, OutboundMessage("o_alice", "image", png_path=str(card)))

    [sent] = fake.sent_to("o_alice")
    assert fake.media[sent.payload["image"]["media_id"]].data == PNG


async def test_a_bot_report_whose_rendering_failed_for_good_is_reported_to_its_user(
    redis: Redis, settings: Settings, alice: User
) -> None:
    report = await ready_report(settings, alice, channel="bot")

    async def render(ctx: JobContext, payload: dict[str, Any]) -> None:
        # The last delivery of a failing render job marks the report failed, then raises.
        await Report.filter(id=payload["report_id"]).update(status=ReportStatus.FAILED)
        raise RuntimeError("renderer crashed")

    job = JobContext(redis, settings, "reports:render", "report.render", "3-0", "3-0", 5, None)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await announce_bot_reports(render)(job, {"report_id": report.id})

    [(_, fields)] = await redis.xrange(OUTBOUND_STREAM)
    text = json.loads(fields[b"payload"])["text"]
    assert text.startswith(f"很抱歉，报告 {report.number} 生成失败")


async def test_the_card_goes_out_before_the_pdf_and_then_only_the_links_follow(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    report = await ready_report(settings_on_fake, alice)
    report.status, report.pdf_path, report.ready_at = ReportStatus.RENDERING, None, None
    await report.save()
    card = OutboundMessage("o_alice", "report_card", report_id=report.id)
    links = OutboundMessage("o_alice", "report", report_id=report.id, extra={"card_sent": True})

    await send(redis, settings_on_fake, card, "1-0")
    with pytest.raises(LookupError, match="pdf is not ready"):
        await send(redis, settings_on_fake, links, "2-0")  # never a link to a missing PDF
    report.status, report.pdf_path = ReportStatus.READY, report.png_path
    await report.save()
    await send(redis, settings_on_fake, links, "3-0")

    kinds = [m.payload["msgtype"] for m in fake.sent_to("o_alice")]
    assert kinds == ["image", "text"]
    assert report.number in texts(fake)[0]


async def test_a_card_message_for_a_report_without_a_card_is_not_sent(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat, alice: User
) -> None:
    report = await ready_report(settings_on_fake, alice)
    report.status, report.png_path = ReportStatus.RENDERING, None
    await report.save()

    with pytest.raises(LookupError, match="card is not ready"):
        await send(redis, settings_on_fake, OutboundMessage("o_alice", "report_card",
                                                            report_id=report.id))  # fmt: skip
    assert fake.sent_to("o_alice") == []
