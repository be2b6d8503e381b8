"""The objection dialog: report, record, kind, description, photos, confirmation, ticket number;
and the open tickets in the progress dialog."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.dialogs import download_media
from bot.dialogs import objection as objection_dialog
from config.settings import Settings
from fakes.wechat import FakeWeChat
from infra.storage import open_store
from models.audit import AuditEntry
from models.enums import BindingRole, Channel, ObjectionKind, ObjectionStatus, RecordStatus
from models.objection import Objection
from models.record import Record
from models.report import Report
from models.user import Binding
from services.errors import Unavailable
from tests.bot_support import Chat, bind, bound_chat, issued_report, make_enterprise, turn

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FakeMedia:
    """WeChat's media/get: the photos the user sent, by media id."""

    def __init__(self, photos: dict[str, bytes]) -> None:
        self.photos = photos
        self.calls: list[str] = []

    async def __call__(self, redis: Redis, settings: Settings, media_id: str) -> bytes:
        self.calls.append(media_id)
        if media_id not in self.photos:
            raise Unavailable("图片获取失败，请重新发送这张图片", code="media_unavailable")
        return self.photos[media_id]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")


@pytest.fixture
def media() -> FakeMedia:
    return FakeMedia({"M-JPEG": JPEG, "M-PNG": PNG, "M-PDF": b"%PDF-1.7", "M-BIG": JPEG * 40000})


async def _chat_with_report(
    redis: Redis, settings: Settings, media: FakeMedia
) -> tuple[Chat, Report]:
    chat, _ = await bound_chat(redis, settings, download_media=media)
    report = await issued_report(settings, redis, await chat.user())
    return chat, report


async def _at_photos(chat: Chat) -> None:
    await chat.say("异议")
    await chat.say("1")
    await chat.say("1")
    await chat.say("1")
    await chat.say("该处罚已于2024年1月履行完毕并完成整改，申请更正。")


async def _submitted_without_photos(
    redis: Redis, settings: Settings, media: FakeMedia
) -> tuple[Chat, Objection]:
    chat, _ = await _chat_with_report(redis, settings, media)
    await _at_photos(chat)
    await chat.say("跳过")
    await chat.say("确认")
    return chat, await Objection.get()


async def test_an_objection_on_a_record_step_by_step(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, report = await _chat_with_report(redis, settings, media)
    [reply] = await chat.say("异议")
    assert reply.startswith("请选择要提出异议的报告") and f"1 {report.number}" in reply
    [reply] = await chat.say("1")
    assert "1 【生态环境保护】渝环罚〔2023〕88号" in reply
    assert "2 【税务】渝税欠〔2024〕0387号" in reply
    [reply] = await chat.say("1")
    assert reply.startswith("已选择：【生态环境保护】渝环罚〔2023〕88号") and "1 信息更正" in reply
    [reply] = await chat.say("更正")
    assert reply == objection_dialog.ASK_TEXT
    [reply] = await chat.say("该处罚已于2024年1月履行完毕并完成整改，申请更正。")
    assert reply == objection_dialog.ASK_PHOTOS
    assert await chat.image("M-JPEG") == ["已收到第1张照片。可继续发送，发完请回复“完成”。"]
    assert await chat.image("M-PNG") == ["已收到第2张照片。可继续发送，发完请回复“完成”。"]
    [reply] = await chat.say("完成")
    assert reply.startswith("请确认异议") and "类型：信息更正" in reply and "照片：2张" in reply
    [reply] = await chat.say("确认")
    made = await Objection.get()
    assert reply.startswith(f"异议已提交，受理编号 {made.ticket_no}，查询码 {made.query_code}。")
    record = await Record.get(domain_id=15)
    assert (made.record_id, made.report_id, made.kind) == (
        record.id, report.id, ObjectionKind.CORRECTION,
    )  # fmt: skip
    assert made.channel == Channel.BOT
    assert made.submitted_by_id == (await chat.user()).id
    assert made.text == "该处罚已于2024年1月履行完毕并完成整改，申请更正。"
    assert len(made.attachments) == 2
    assert len(await open_store(settings, area="objections").names()) == 2
    assert media.calls == ["M-JPEG", "M-PNG"]
    assert await redis.keys("bot:media:*") == []  # the photos' bytes are gone from Redis
    assert not (await chat.state()).active


async def test_a_report_with_many_records_lists_them_in_several_messages(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, enterprise = await bound_chat(redis, settings, download_media=media)
    first = await Record.get(domain_id=15)
    for n in range(40):
        await Record.create(
            enterprise=enterprise, domain_id=15, department_id=first.department_id,
            source_ref=f"ECO-MANY-{n}", kind=first.kind, decision_no=f"渝环罚〔2022〕{n}号",
            authority=first.authority, decision_date=first.decision_date, summary="超标排放",
            status=first.status, content_hash="x", pushed_at=first.pushed_at,
        )  # fmt: skip
    await issued_report(settings, redis, await chat.user())
    await chat.say("异议")
    listing = await chat.say("1")
    assert len(listing) > 1 and all(len(m.encode()) <= 2048 for m in listing)
    assert "\n42 【税务】渝税欠〔2024〕0387号" in listing[-1]
    [reply] = await chat.say("42")
    assert reply.startswith("已选择：【税务】渝税欠〔2024〕0387号")


async def test_an_objection_without_a_record_names_a_domain(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await chat.say("异议")
    await chat.say("1")
    [reply] = await chat.say("0")
    assert reply == objection_dialog.ASK_DOMAIN
    [reply] = await chat.say("火星")
    assert "没有找到这些领域：火星" in reply
    [reply] = await chat.say("1,2")
    assert reply.startswith("请只选择一个领域")
    [reply] = await chat.say("环保")
    assert reply.startswith("已选择：15 生态环境保护")
    await chat.say("4")
    await chat.say("请说明该领域数据的来源和更新时间")
    await chat.say("跳过")
    await chat.say("确认")
    made = await Objection.get()
    assert (made.record_id, made.domain_id, made.kind) == (None, 15, ObjectionKind.DETAIL)
    assert made.attachments == []


async def test_a_file_that_is_no_photo_is_refused_and_the_dialog_goes_on(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await _at_photos(chat)
    [reply] = await chat.image("M-PDF")
    assert "不是 JPEG 或 PNG 图片" in reply
    [reply] = await chat.image("M-BIG")
    assert "超过 2 MB" in reply
    [reply] = await chat.image("M-GONE")
    assert reply == "图片获取失败，请重新发送这张图片"
    state = await chat.state()
    assert state.step == "photos" and state.data["photos"] == []


async def test_at_most_nine_photos_are_taken(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await _at_photos(chat)
    for _ in range(9):
        await chat.image("M-JPEG")
    [reply] = await chat.image("M-JPEG")
    assert reply.startswith("最多9张照片")
    assert len((await chat.state()).data["photos"]) == 9


async def test_a_description_too_short_is_asked_again(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await chat.say("异议")
    await chat.say("1")
    await chat.say("2")
    await chat.say("修复")
    [reply] = await chat.say("错了")
    assert reply.startswith("描述的长度应为")
    assert (await chat.state()).step == "text"


async def test_wrong_numbers_are_asked_again(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await chat.say("异议")
    [reply] = await chat.say("5")
    assert "1至1" in reply
    await chat.say("1")
    [reply] = await chat.say("9")
    assert "1至2" in reply
    await chat.say("1")
    [reply] = await chat.say("投诉")
    assert reply.startswith("没有看懂这个类型")


async def test_a_user_not_bound_cannot_object(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    [reply] = await Chat(redis, settings, download_media=media).say("异议")
    assert "还没有绑定企业" in reply


async def test_an_agent_for_reports_only_cannot_object(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat = Chat(redis, settings, download_media=media)
    await chat.event("subscribe")
    await bind(await chat.user(), await make_enterprise(), BindingRole.AGENT, ("reports",))
    [reply] = await chat.say("异议")
    assert "授权不包括提出异议" in reply


async def test_without_a_ready_report_there_is_nothing_to_object_to(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await bound_chat(redis, settings, download_media=media)
    [reply] = await chat.say("异议")
    assert reply.startswith("暂无已出具的报告")
    assert not (await chat.state()).active


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 5, 6])
async def test_cancel_at_each_step_files_nothing(
    db: str, redis: Redis, settings: Settings, media: FakeMedia, steps: int
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await chat.say("异议")
    answers = ["1", "1", "1", "该处罚已履行完毕，申请更正。", "M-JPEG", "完成"]
    for answer in answers[:steps]:
        await (chat.image(answer) if answer.startswith("M-") else chat.say(answer))
    [reply] = await chat.say("取消")
    assert reply.startswith("已取消“提出异议”")
    await chat.say("确认")
    assert not await Objection.exists()


async def test_a_replayed_confirmation_files_one_objection(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await _at_photos(chat)
    await chat.image("M-JPEG")
    await chat.say("完成")
    state, user = await chat.state(), await chat.user()
    message = turn(chat, "确认", user)
    first = await objection_dialog.confirm(state, message)
    again = await objection_dialog.confirm(state, message)
    assert first == again
    assert await Objection.all().count() == 1


async def test_progress_lists_the_open_tickets(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, made = await _submitted_without_photos(redis, settings, media)
    replies = await chat.say("进度")
    tickets = next(r for r in replies if r.startswith("您的异议"))
    assert made.ticket_no in tickets and "信息更正" in tickets and "已提交" in tickets
    await Objection.filter(id=made.id).update(status=ObjectionStatus.CLOSED)
    replies = await chat.say("进度")
    assert not any(made.ticket_no in r for r in replies)


async def test_photos_are_downloaded_through_the_wechat_api(
    db: str, redis: Redis, settings_on_fake: Settings, fake_wechat: FakeWeChat
) -> None:
    chat, _ = await bound_chat(redis, settings_on_fake, download_media=download_media)
    await issued_report(settings_on_fake, redis, await chat.user())
    await _at_photos(chat)
    media_id = fake_wechat.add_user_media(settings_on_fake.wechat_app_id, JPEG)
    assert await chat.image(media_id) == ["已收到第1张照片。可继续发送，发完请回复“完成”。"]
    assert await chat.image("expired-media-id") == ["图片获取失败，请重新发送这张图片"]
    await chat.say("完成")
    await chat.say("确认")
    made = await Objection.get()
    assert len(made.attachments) == 1


async def test_the_records_listed_are_those_of_the_report_still_open_to_objection(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    """The mini-program's rule (records_open_to_objection): a decision revoked since the report
    was issued is no longer one to object to."""
    chat, report = await _chat_with_report(redis, settings, media)
    await Record.filter(domain_id=15).update(status=RecordStatus.REVOKED)
    await chat.say("异议")
    [listing] = await chat.say("1")
    assert listing.startswith(f"报告 {report.number} 中的信息")
    assert listing.splitlines()[1:] == [
        "1 【税务】渝税欠〔2024〕0387号（2024-09-30，行政处罚（普通程序））"
    ]
    [reply] = await chat.say("1")
    assert reply.startswith("已选择：【税务】渝税欠〔2024〕0387号")
    assert (await chat.state()).data["record_id"] == (await Record.get(domain_id=37)).id


async def test_a_report_of_an_enterprise_no_longer_bound_is_not_found(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    chat, _ = await _chat_with_report(redis, settings, media)
    await chat.say("异议")
    await Binding.all().update(revoked_at=datetime.now(UTC))
    [reply] = await chat.say("1")
    assert reply == "未找到该报告"
    assert (await chat.state()).step == "report"


async def test_the_objection_is_audited_with_the_bots_channel(
    db: str, redis: Redis, settings: Settings, media: FakeMedia
) -> None:
    _, made = await _submitted_without_photos(redis, settings, media)
    audit = await AuditEntry.get(action="objection.submit")
    assert (audit.actor, audit.object_id) == (f"user:{made.submitted_by_id}", made.ticket_no)
    assert audit.detail["channel"] == "bot"
