"""The report dialog, step by step: domains, span, purpose, confirmation, then the queued report."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from redis.asyncio import Redis

from bot.dialogs import report
from bot.state import IDLE, DialogState
from config.settings import Settings
from models.audit import AuditEntry
from models.enums import BindingRole, Channel, ReportPurpose, ReportStatus
from models.report import Report
from models.user import Binding
from services.reports.issuing import RENDER_STREAM
from tests.bot_support import (
    USCC,
    Chat,
    bind,
    bound_chat,
    make_enterprise,
    turn,
    valid_uscc,
)


async def _at_confirm(chat: Chat) -> None:
    await chat.say("申请报告")
    await chat.say("生态，税务")
    await chat.say("2021-01-01至2024-12-31")
    await chat.say("2")


async def test_a_bound_user_is_asked_for_domains_with_the_list_of_forty(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    question, listing = await chat.say("申请报告")
    assert "重庆渝信示范科技股份有限公司" in question and "全部" in question
    assert listing.splitlines()[1] == "1 网络信用" and "40 消防安全" in listing
    state = await chat.state()
    assert (state.dialog, state.step) == ("report", "domains")


async def test_the_whole_dialog_queues_a_report_for_the_bound_enterprise(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, enterprise = await bound_chat(redis, settings)
    await chat.say("申请报告")
    [reply] = await chat.say("生态，税务")
    assert reply.startswith("已选择：15 生态环境保护、37 税务。") and "时间跨度" in reply
    [reply] = await chat.say("2021-01-01至2024-12-31")
    assert "2021年01月01日至2024年12月31日" in reply and "1 上市挂牌" in reply
    [reply] = await chat.say("2")
    assert "请确认" in reply and "用途：再融资" in reply and "15 生态环境保护、37 税务" in reply
    [reply] = await chat.say("确认")
    made = await Report.get(enterprise_id=enterprise.id)
    assert reply.startswith(f"已受理，报告编号 {made.number}，正在生成…")
    assert made.domains == [15, 37]
    assert (made.span_from, made.span_to) == (date(2021, 1, 1), date(2024, 12, 31))
    assert made.purpose == ReportPurpose.REFINANCING
    assert made.channel == Channel.BOT
    assert made.status == ReportStatus.PENDING
    assert made.requester_id == (await chat.user()).id
    assert await redis.xlen(RENDER_STREAM) == 1
    assert not (await chat.state()).active
    audit = await AuditEntry.get(action="report.requested")
    assert (audit.actor, audit.object_id) == (f"user:{made.requester_id}", made.number)
    assert (audit.detail["channel"], audit.detail["uscc"]) == ("bot", enterprise.uscc)


@pytest.mark.parametrize("purpose", ["债券发行", "债券", "4"])
async def test_a_purpose_can_be_named_or_numbered(
    db: str, redis: Redis, settings: Settings, purpose: str
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.say("全部")
    await chat.say("近三年")
    [reply] = await chat.say(purpose)
    assert "用途：债券发行" in reply


async def test_an_unknown_purpose_is_asked_again(db: str, redis: Redis, settings: Settings) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.say("全部")
    await chat.say("近三年")
    [reply] = await chat.say("9")
    assert reply.startswith("没有看懂这个用途") and "4 债券发行" in reply
    assert (await chat.state()).step == "purpose"


async def test_unknown_domain_names_are_refused_and_asked_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    [reply] = await chat.say("生态，火星，99")
    assert "没有找到这些领域：火星、99" in reply
    state = await chat.state()
    assert state.step == "domains" and "domains" not in state.data


async def test_the_domain_list_is_shown_again_on_request(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    [listing] = await chat.say("领域")
    assert "15 生态环境保护" in listing
    assert (await chat.state()).step == "domains"


async def test_a_span_before_2020_is_refused_with_the_reason_and_asked_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.say("全部")
    [reply] = await chat.say("2019-01-01至2024-12-31")
    assert "不能早于2020年1月1日" in reply and "2020年1月1日以来" in reply
    assert (await chat.state()).step == "span"
    [reply] = await chat.say("近五年")
    assert "2021年11月28日至2026年11月27日" in reply


async def test_a_span_after_today_is_refused(db: str, redis: Redis, settings: Settings) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.say("全部")
    [reply] = await chat.say("2021-01-01至2027-12-31")
    assert reply == "查询截止日期不能晚于今天"
    assert (await chat.state()).step == "span"


async def test_the_confirmation_waits_for_yes_or_cancel(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await _at_confirm(chat)
    [reply] = await chat.say("嗯？")
    assert "确认" in reply and "取消" in reply
    assert await Report.all().count() == 0
    [reply] = await chat.say("否")
    assert "已放弃" in reply
    assert await Report.all().count() == 0
    assert not (await chat.state()).active


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
async def test_cancel_at_each_step_queues_nothing(
    db: str, redis: Redis, settings: Settings, steps: int
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    for answer in ["全部", "近三年", "1"][:steps]:
        await chat.say(answer)
    [reply] = await chat.say("取消")
    assert reply.startswith("已取消“申请报告”")
    assert await Report.all().count() == 0
    assert await chat.say("确认") != []  # answered, but not as a confirmation
    assert await Report.all().count() == 0


async def test_a_user_not_bound_is_told_to_bind_first(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    [reply] = await chat.say("申请报告")
    assert "还没有绑定企业" in reply and "绑定" in reply
    assert not (await chat.state()).active


async def test_an_agent_without_the_reports_scope_is_told_so(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.event("subscribe")
    await bind(await chat.user(), await make_enterprise(), BindingRole.AGENT, ("objections",))
    [reply] = await chat.say("申请报告")
    assert "授权不包括申请报告" in reply


async def test_a_revoked_binding_cannot_request_a_report(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.event("subscribe")
    binding = await bind(await chat.user(), await make_enterprise())
    binding.revoked_at = datetime.now(UTC)
    await binding.save()
    [reply] = await chat.say("申请报告")
    assert "还没有绑定企业" in reply


async def test_a_binding_revoked_during_the_dialog_stops_the_request(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await _at_confirm(chat)
    await Binding.all().update(revoked_at=datetime.now(UTC))
    [reply] = await chat.say("确认")
    assert reply == "您未获得该企业的相应授权"
    assert await Report.all().count() == 0


async def test_a_user_bound_to_two_enterprises_picks_one_by_number(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    other = await make_enterprise(valid_uscc("91500105MA5U8K3Q1"), "重庆第二示范有限公司")
    await bind(await chat.user(), other)
    [reply] = await chat.say("报告")
    assert "1 重庆渝信示范科技股份有限公司" in reply and "2 重庆第二示范有限公司" in reply
    [reply] = await chat.say("3")
    assert "1至2" in reply
    question, _ = await chat.say("2")
    assert "重庆第二示范有限公司" in question
    await chat.say("全部")
    await chat.say("近三年")
    await chat.say("1")
    await chat.say("确认")
    assert (await Report.get()).enterprise_id == other.id


async def test_a_replayed_confirmation_queues_one_report(
    db: str, redis: Redis, settings: Settings
) -> None:
    """A worker killed after the request but before the state write replays the same message."""
    chat, _ = await bound_chat(redis, settings)
    await _at_confirm(chat)
    state = await chat.state()
    user = await chat.user()
    confirm = turn(chat, "确认", user)
    first_state, first = await report.confirm(state, confirm)
    again_state, again = await report.confirm(state, confirm)
    assert first == again and first_state == again_state == IDLE
    assert await Report.all().count() == 1
    assert await redis.xlen(RENDER_STREAM) == 1
    # A new message is a new request.
    await report.confirm(state, turn(chat, "确认", user))
    assert await Report.all().count() == 2


async def test_the_domains_step_is_a_function_of_state_and_message(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    user = await chat.user()
    state = DialogState("report", "domains", {"enterprise": {"enterprise_id": 1,
                        "name": "某公司", "uscc": USCC}})  # fmt: skip
    after, replies = await report.choose_domains(state, turn(chat, "1,5,7-9", user))
    assert after.step == "span" and after.data["domains"] == [1, 5, 7, 8, 9]
    assert after.data["enterprise"] == state.data["enterprise"]
    assert replies[0].startswith(
        "已选择：1 网络信用、5 地方金融监管、7 教育、8 科技、9 工业和信息化"
    )
