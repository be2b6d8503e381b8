"""The dialogs with bot.understand: whole sentences, several answers at once, corrections, the
enterprise's name as a yes, policy questions, small talk, and what happens when nothing fits."""

from __future__ import annotations

from datetime import date

import pytest
from redis.asyncio import Redis

from bot import engine, menu
from bot.dialogs import CHANNEL, objection, progress, report
from bot.dialogs import bind as bind_dialog
from bot.understand.faq import UNANSWERED
from bot.understand.lexicon import PURPOSE_WORDS
from config.settings import Settings
from models.enums import Channel, ObjectionKind, ObjectionStatus, ReportPurpose, ReportStatus
from models.report import Report
from services.accounts import bindings
from tests.bot_support import (
    NAME,
    TODAY,
    USCC,
    Chat,
    bound_chat,
    issued_report,
    make_enterprise,
)

POLICY = "依据渝府办发〔2024〕89号"


def _years(years: int) -> str:
    start = TODAY.replace(year=TODAY.year - years)
    start = date.fromordinal(start.toordinal() + 1)
    return f"{start:%Y年%m月%d日}至{TODAY:%Y年%m月%d日}"


async def test_one_sentence_chooses_domains_and_span_and_asks_the_purpose(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    [reply] = await chat.say("帮我开一份近三年生态环境和税务的报告")
    assert "已选择：15 生态环境保护、37 税务。" in reply
    assert f"时间跨度：{_years(3)}。" in reply
    assert reply.endswith(report.PURPOSE_QUESTION)
    state = await chat.state()
    assert (state.step, state.data["domains"]) == ("purpose", [15, 37])
    # The second turn reaches the confirmation.
    [reply] = await chat.say("用于发债")
    assert reply.startswith("请确认：") and "用途：债券发行" in reply
    assert (await chat.state()).step == "confirm"


async def test_a_sentence_with_everything_goes_straight_to_the_confirmation(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    [reply] = await chat.say("帮我开一份近三年生态环境和税务的报告，用于发债")
    assert reply.startswith("请确认：") and "领域：15 生态环境保护、37 税务" in reply
    assert f"时间跨度：{_years(3)}" in reply and "用途：债券发行" in reply
    [accepted] = await chat.say("确认")
    assert accepted.startswith("已受理，报告编号")
    made = await Report.get()
    assert (made.domains, made.purpose) == ([15, 37], "bond")


async def test_a_sentence_at_a_step_fills_that_step_and_the_next(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    [reply] = await chat.say("环保和消防吧，近两年的")
    assert "已选择：15 生态环境保护、40 消防安全。" in reply and _years(2) in reply
    assert (await chat.state()).step == "purpose"


async def test_corrections_at_the_confirmation_change_what_was_chosen(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("开一份近三年生态环境的报告，上市用")
    [reply] = await chat.say("改成近五年")
    assert f"时间跨度：{_years(5)}" in reply and reply.startswith("请确认：")
    [reply] = await chat.say("加上消防")
    assert "领域：15 生态环境保护、40 消防安全" in reply
    [reply] = await chat.say("去掉生态环境")
    assert "领域：40 消防安全\n" in reply
    [reply] = await chat.say("用途改成并购")
    assert "用途：并购重组" in reply
    [reply] = await chat.say("改成近十年")  # before 2020: refused with the reason, span kept
    assert "2020年1月1日" in reply or f"时间跨度：{_years(5)}" in reply
    state = await chat.state()
    assert state.step == "confirm" and state.data["domains"] == [40]
    assert state.data["start"] == str(TODAY.replace(year=TODAY.year - 5, day=TODAY.day + 1))


@pytest.mark.parametrize(
    "text, dialog",
    [
        ("我要开信用报告", "report"),
        ("我想对报告里的处罚提异议", "objection"),
        ("进度怎么样了", "progress"),
        ("查报告", "progress"),
    ],
)
async def test_the_four_sentences_of_a_new_user_start_their_dialogs(
    db: str, redis: Redis, settings: Settings, text: str, dialog: str
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await issued_report(settings, redis, await chat.user())
    replies = await chat.say(text)
    assert not any(menu.NOT_UNDERSTOOD_TEXT in r for r in replies)
    assert (await chat.state()).dialog == dialog


async def test_credit_repair_starts_an_objection_that_knows_its_kind(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await issued_report(settings, redis, await chat.user())
    await chat.say("处罚已经整改完了，想申请信用修复")
    await chat.say("1")
    [reply] = await chat.say("1")  # the first record: no kind question, straight to the text
    assert f"异议类型：{ObjectionKind.REPAIR.label}" in reply
    state = await chat.state()
    assert (state.step, state.data["kind"]) == ("text", "repair")


async def test_the_enterprises_own_name_answers_the_bind_confirmation(
    db: str, redis: Redis, settings: Settings
) -> None:
    bindings.configure(settings)
    await make_enterprise()
    for answer in (NAME, "渝信示范科技", "是的，就是这家"):
        chat = Chat(redis, settings, openid=f"o-{answer}")
        await chat.say("绑定")
        await chat.say(USCC)
        assert await chat.say(answer) == [bind_dialog.ASK_NAME]
    chat = Chat(redis, settings, openid="o-other")
    await chat.say(f"绑定 {USCC}")  # the USCC in the first message
    assert (await chat.state()).step == "confirm_name"
    [reply] = await chat.say("重庆另一家建材有限公司")
    assert "请回复“是”继续" in reply


async def test_after_two_misunderstandings_the_bot_says_what_it_expects_and_then_stops(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("开一份近三年全部领域的报告")
    question = report.PURPOSE_QUESTION
    first, second, third, fourth = [(await chat.say("嗯嗯嗯"))[0] for _ in range(4)]
    assert question in first and engine.EXPECT_HEAD not in first
    assert second.endswith(engine.EXPECT_HEAD + report.EXPECT["purpose"])
    assert "例如" in second
    assert third != second and engine.LAST_TRY_TEXT in third
    assert fourth.startswith("多次没有看懂") and menu.MENU_TEXT in fourth
    assert not (await chat.state()).active
    assert len({first, second, third, fourth}) == 4  # no prompt sent a third time


async def test_an_answer_understood_resets_the_count(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.say("火星")
    await chat.say("全部")
    [reply] = await chat.say("火星")  # the span step: its first miss
    assert engine.EXPECT_HEAD not in reply
    assert (await chat.state()).data[engine.MISSES] == 1


@pytest.mark.parametrize("text", ["今天天气怎么样", "谢谢", "讲个笑话"])
async def test_small_talk_gets_a_polite_reply_and_the_menu_and_no_dialog(
    db: str, redis: Redis, settings: Settings, text: str
) -> None:
    chat, _ = await bound_chat(redis, settings)
    [reply] = await chat.say(text)
    assert reply == f"{menu.CHITCHAT_TEXT}\n{menu.MENU_TEXT}"
    assert not (await chat.state()).active


async def test_policy_questions_are_answered_with_their_source(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    [fee] = await chat.say("开报告要钱吗")
    assert "免费" in fee and f"{POLICY} 三、(三)" in fee
    [update] = await chat.say("数据多久更新")
    assert "7个工作日" in update and f"{POLICY} 三、(一)" in update
    [unknown] = await chat.say("报告有效期多久？")
    assert unknown == f"{UNANSWERED}。\n{menu.MENU_TEXT}"
    assert not (await chat.state()).active


async def test_the_deadlines_quoted_are_the_settings_in_force(
    db: str, redis: Redis, settings: Settings
) -> None:
    from dataclasses import replace

    chat = Chat(redis, replace(settings, objection_accept_days=3, objection_resolve_days=9))
    [reply] = await chat.say("异议多久能处理完")
    assert "3个工作日内受理" in reply and "9个工作日内办结" in reply


async def test_a_policy_question_inside_a_dialog_is_answered_and_the_dialog_goes_on(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    [reply] = await chat.say("开报告收费吗？")
    assert "免费" in reply and "您正在办理“申请报告”" in reply
    state = await chat.state()
    assert (state.step, engine.MISSES in state.data) == ("domains", False)
    [reply] = await chat.say("不办了")
    assert reply.startswith("已取消“申请报告”")


async def test_a_free_text_answer_is_taken_as_it_is(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await issued_report(settings, redis, await chat.user())
    await chat.say("异议")
    await chat.say("1")
    await chat.say("1")
    await chat.say("1")
    description = "这条处罚不对，已整改，不办了也要删除，收费吗？"
    [reply] = await chat.say(description)
    state = await chat.state()
    assert (state.step, state.data["text"]) == ("photos", description)
    assert "免费" not in reply


def test_the_bots_words_for_the_policys_terms_are_their_stored_values() -> None:
    """The bot names purposes, kinds, statuses and its channel by value (it imports no models):
    each value is the enum's."""
    assert set(PURPOSE_WORDS.values()) == {p.value for p in ReportPurpose}
    assert set(objection.KIND_WORDS.values()) == {k.value for k in ObjectionKind}
    assert ObjectionKind.REPAIR.value == objection.REPAIR
    assert Channel.BOT.value == CHANNEL
    assert (progress.READY, progress.SUBMITTED) == (ReportStatus.READY, ObjectionStatus.SUBMITTED)
