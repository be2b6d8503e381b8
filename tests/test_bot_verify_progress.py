"""The verify dialog (验证 YX... code) and the progress dialog (the user's reports)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot import menu
from bot.dialogs import verify
from config.settings import Settings
from models.audit import AuditEntry
from models.enums import ReportStatus
from models.record import Record
from models.report import Report
from models.user import Binding
from services.reports.issuing import ReportRequest, request_report
from tests.bot_support import TODAY, USCC, Chat, bound_chat, issued_report


async def test_verify_in_one_message_gives_the_result_as_text(
    db: str, redis: Redis, settings: Settings
) -> None:
    report = await issued_report(settings, redis, None)
    [reply] = await Chat(redis, settings).say(f"验证 {report.number} {report.verify_code}")
    lines = reply.splitlines()
    assert lines[0] == "✅ 报告真实有效"
    assert f"报告编号：{report.number}" in lines
    assert "企业名称：重庆渝信示范科技股份有限公司" in lines
    assert "时间跨度：2021-01-01至2026-11-27" in lines
    assert "核查领域：40个" in lines
    assert lines[-1] == "数据状态：报告出具后数据未发生变化"
    assert await AuditEntry.filter(action="report.verified").count() == 1


async def test_verify_says_when_the_data_changed_since_issue(
    db: str, redis: Redis, settings: Settings
) -> None:
    report = await issued_report(settings, redis, None)
    await Record.filter(domain_id=15).update(summary="更正后的内容", status="repaired")
    [reply] = await Chat(redis, settings).say(f"验证 {report.number} {report.verify_code}")
    assert reply.splitlines()[-1] == "数据状态：报告出具后数据已更新"


async def test_a_lower_case_code_or_a_pasted_link_also_verifies(
    db: str, redis: Redis, settings: Settings
) -> None:
    report = await issued_report(settings, redis, None)
    chat = Chat(redis, settings)
    [reply] = await chat.say(f"核验{report.number.lower()}，{report.verify_code.lower()}")
    assert reply.startswith("✅")
    link = f"http://yucredit.test/verify/{report.number}?c={report.verify_code}"
    [reply] = await chat.say(link)
    assert reply.startswith("✅")


async def test_a_wrong_code_is_answered_like_an_unknown_number(
    db: str, redis: Redis, settings: Settings
) -> None:
    report = await issued_report(settings, redis, None)
    chat = Chat(redis, settings)
    [wrong_code] = await chat.say(f"验证 {report.number} ZZZZ2222")
    [unknown] = await chat.say("YX20991231999999 ABCD2345")
    assert wrong_code.startswith("未找到该报告，请核对报告编号和核验码")
    assert unknown == wrong_code
    assert (await chat.state()).step == "ask"
    [reply] = await chat.say(f"{report.number} {report.verify_code}")
    assert reply.startswith("✅")
    assert not (await chat.state()).active


async def test_verify_from_the_menu_asks_for_the_number_and_code(
    db: str, redis: Redis, settings: Settings
) -> None:
    report = await issued_report(settings, redis, None)
    chat = Chat(redis, settings)
    [ask] = await chat.click(menu.MENU_VERIFY)
    assert ask == verify.ASK
    [reply] = await chat.say("我不知道")
    assert reply.startswith("没有找到报告编号和核验码")
    [reply] = await chat.say(f"{report.number} {report.verify_code}")
    assert reply.startswith("✅")


async def test_verify_is_rate_limited_per_user(db: str, redis: Redis, settings: Settings) -> None:
    chat = Chat(redis, settings)
    for _ in range(verify.VERIFY_PER_MINUTE):
        await chat.say("验证 YX20991231999999 ABCD2345")
    [reply] = await chat.say("验证 YX20991231999999 ABCD2345")
    assert reply == "请求过于频繁，请稍后再试"


async def test_a_report_still_rendering_cannot_be_verified_yet(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    pending = await request_report(redis, ReportRequest(uscc=USCC), today=TODAY)
    [reply] = await chat.say(f"验证 {pending.number} {pending.verify_code}")
    assert reply.startswith("该报告尚未出具完成")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("验证 YX20261127000001 ABCD2345", ("YX20261127000001", "ABCD2345")),
        ("yx20261127000001/abcd2345", ("YX20261127000001", "ABCD2345")),
        ("YX20261127000001", None),
        ("验证 ABCD2345", None),
        ("YX20261127000001 ABCD23456", None),
    ],
)
def test_parse_finds_the_number_then_the_code(text: str, expected: tuple[str, str] | None) -> None:
    assert verify.parse(text) == expected


async def test_progress_lists_the_users_reports_newest_first(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    user = await chat.user()
    ready = await issued_report(settings, redis, user)
    pending = await request_report(
        redis, ReportRequest(uscc=USCC, requester_id=user.id), today=TODAY
    )
    await issued_report(settings, redis, None)  # someone else's: not listed
    listing, hint = await chat.say("进度")
    lines = listing.splitlines()
    assert lines[0] == "您最近申请的报告："
    assert lines[1] == f"1 {pending.number} 重庆渝信示范科技股份有限公司"
    assert lines[2].strip().endswith("排队中")
    assert lines[3] == f"2 {ready.number} 重庆渝信示范科技股份有限公司"
    assert lines[4].strip().endswith("已出具")
    assert len(lines) == 5
    assert "序号" in hint


async def test_progress_sends_a_ready_report_again_by_its_number(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    ready = await issued_report(settings, redis, await chat.user())
    await chat.click(menu.MENU_PROGRESS)
    [card] = await chat.send(chat.message(content="1"))
    assert (card.kind, card.report_id) == ("report", ready.id)
    assert not (await chat.state()).active


async def test_progress_explains_a_report_that_is_not_ready(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    user = await chat.user()
    pending = await request_report(
        redis, ReportRequest(uscc=USCC, requester_id=user.id), today=TODAY
    )
    await chat.say("进度")
    [reply] = await chat.say("1")
    assert reply == f"报告 {pending.number} 排队中，出具后会自动发送给您。"
    await Report.filter(id=pending.id).update(status=ReportStatus.FAILED)
    [reply] = await chat.say("2")
    assert "1至1" in reply


async def test_progress_without_reports_says_so(db: str, redis: Redis, settings: Settings) -> None:
    chat = Chat(redis, settings)
    [reply] = await chat.say("进度")
    assert reply == "您还没有通过公众号申请过报告。回复“报告”即可申请。"
    assert not (await chat.state()).active


async def test_progress_lists_reports_only_on_enterprises_the_user_still_may_ask_about(
    db: str, redis: Redis, settings: Settings
) -> None:
    """The mini-program's history rule: a binding revoked takes its enterprise's reports out."""
    chat, _ = await bound_chat(redis, settings)
    await issued_report(settings, redis, await chat.user())
    await Binding.all().update(revoked_at=datetime.now(UTC))
    [reply] = await chat.say("进度")
    assert reply == "您还没有通过公众号申请过报告。回复“报告”即可申请。"
    assert not (await chat.state()).active
