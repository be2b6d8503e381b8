"""The engine answers a repeat of the last message with the replies it gave, without a step.

A worker killed after the engine saved its state, but before the inbound job queued the replies,
runs the same message through the engine again (services.wechat.inbound); so does a test here.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot import engine, menu
from bot.parse_span import SPAN_HELP
from bot.state import IDLE_TIMEOUT_S, DialogState, save_state
from config.settings import Settings
from models.report import Report
from services.reports.issuing import RENDER_STREAM
from tests.bot_support import Chat, bound_chat, issued_report


async def _at_confirm(chat: Chat) -> None:
    for text in ("申请报告", "生态，税务", "2021-01-01至2024-12-31", "2"):
        await chat.say(text)


async def test_the_same_message_twice_in_the_report_dialog_gets_the_same_answer_and_no_step(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    message = chat.message(content="全部")
    first = await chat.send(message)
    after_first = await chat.state()
    again = await chat.send(message)
    assert again == first
    assert first[0].text.startswith("已选择：全部40个领域") and SPAN_HELP in first[0].text
    assert await chat.state() == after_first  # still asking for the span, nothing counted
    assert after_first.step == "span"


async def test_a_new_message_with_the_same_words_is_a_new_step(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.say("全部")
    [reply] = await chat.say("全部")  # another message: an answer to the span question
    assert reply.startswith("没有看懂这个时间跨度")


async def test_a_repeated_confirmation_gets_the_same_report_number_and_queues_one_report(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await _at_confirm(chat)
    message = chat.message(content="确认")
    [first] = await chat.send(message)
    [again] = await chat.send(message)
    made = await Report.get()
    assert first == again
    assert first.text.startswith(f"已受理，报告编号 {made.number}")
    assert await Report.all().count() == 1 and await redis.xlen(RENDER_STREAM) == 1
    assert not (await chat.state()).active
    [reply] = await chat.say("确认")  # a new message after the dialog ended is no answer
    assert menu.NOT_UNDERSTOOD_TEXT in reply


async def test_a_repeat_after_the_idle_timeout_hears_of_the_reset_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.say("验证")  # a dialog that waits for the report's number
    chat.clock += IDLE_TIMEOUT_S + 1
    message = chat.message(content="全部")
    first = await chat.send(message)
    assert first[0].text == engine.TIMED_OUT_TEXT
    assert await chat.send(message) == first


async def test_a_repeated_choice_sends_the_same_report_card(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    ready = await issued_report(settings, redis, await chat.user())
    await chat.say("进度")
    message = chat.message(content="1")
    [card] = await chat.send(message)
    assert await chat.send(message) == [card]
    assert (card.kind, card.report_id) == ("report", ready.id)


async def test_a_state_saved_without_an_answer_goes_on_with_the_next_message(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, enterprise = await bound_chat(redis, settings)
    acting = {"enterprise_id": enterprise.id, "name": enterprise.name, "uscc": enterprise.uscc}
    state = DialogState("report", "domains", {"enterprise": acting})
    await save_state(redis, chat.openid, state, chat.clock)
    [reply] = await chat.say("全部")
    assert reply.startswith("已选择：全部40个领域")
    assert (await chat.state()).step == "span"
