"""The conversation engine: events, 取消 and 帮助 anywhere, the idle timeout, and no silence."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis.asyncio import Redis

from bot import engine, menu
from bot.state import IDLE_TIMEOUT_S, DialogState, save_state
from config.settings import Settings
from models.user import User
from tests.bot_support import Chat, bound_chat


async def test_subscribing_is_answered_with_a_welcome_and_the_menu(
    db: str, redis: Redis, settings: Settings
) -> None:
    out = await Chat(redis, settings).event("subscribe")
    assert [o.text for o in out] == [menu.WELCOME_TEXT, menu.MENU_TEXT]
    assert await User.exists(oa_openid="o-user-1")  # created on first contact


async def test_unsubscribing_ends_the_dialog_and_sends_nothing(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    assert (await chat.state()).dialog == "report"
    assert await chat.event("unsubscribe") == []
    assert not (await chat.state()).active


@pytest.mark.parametrize("word", ["帮助", "菜单", "help", "？"])
async def test_help_and_menu_show_what_the_bot_can_do(
    db: str, redis: Redis, settings: Settings, word: str
) -> None:
    assert await Chat(redis, settings).say(word) == [menu.MENU_TEXT]


async def test_help_inside_a_dialog_keeps_it_and_says_how_to_go_on(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("申请报告")
    [reply] = await chat.say("菜单")
    assert menu.MENU_TEXT in reply and "申请报告" in reply and "取消" in reply
    assert (await chat.state()).step == "domains"
    assert "已选择：15 生态环境保护" in (await chat.say("环保"))[0]


async def test_cancel_ends_the_dialog(db: str, redis: Redis, settings: Settings) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    assert await chat.say("取消") == ["已取消“申请报告”。回复“菜单”查看其他服务。"]
    assert not (await chat.state()).active
    [reply] = await chat.say("全部")  # no longer an answer to anything
    assert menu.NOT_UNDERSTOOD_TEXT in reply


async def test_cancel_outside_a_dialog_says_there_is_nothing_to_cancel(
    db: str, redis: Redis, settings: Settings
) -> None:
    [reply] = await Chat(redis, settings).say("取消")
    assert "没有进行中的办理" in reply


@pytest.mark.parametrize("text", ["6", "12345", "嗯嗯"])
async def test_anything_else_gets_not_understood_with_the_menu(
    db: str, redis: Redis, settings: Settings, text: str
) -> None:
    [reply] = await Chat(redis, settings).say(text)
    assert reply.startswith(menu.NOT_UNDERSTOOD_TEXT)
    assert menu.MENU_TEXT in reply


async def test_an_image_or_a_voice_message_outside_a_dialog_is_not_silence(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    assert menu.NOT_UNDERSTOOD_TEXT in (await chat.image("MEDIA1"))[0]
    out = await chat.send(chat.message("other"))
    assert menu.NOT_UNDERSTOOD_TEXT in out[0].text


async def test_events_that_are_not_the_user_talking_get_no_reply(
    db: str, redis: Redis, settings: Settings
) -> None:
    assert await Chat(redis, settings).event("view") == []


@pytest.mark.parametrize(
    ("key", "dialog"),
    [
        (menu.MENU_REPORT, "report"),
        (menu.MENU_BIND, "bind"),
        (menu.MENU_OBJECTION, None),  # no ready report yet: it says so and ends
        (menu.MENU_VERIFY, "verify"),
        (menu.MENU_PROGRESS, None),
    ],
)
async def test_menu_clicks_start_their_dialogs(
    db: str, redis: Redis, settings: Settings, key: str, dialog: str | None
) -> None:
    chat, _ = await bound_chat(redis, settings)
    replies = await chat.click(key)
    assert replies and all(replies)
    assert (await chat.state()).dialog == (dialog or "")


async def test_a_menu_click_inside_a_dialog_switches_to_the_new_one(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    await chat.click(menu.MENU_VERIFY)
    assert (await chat.state()).dialog == "verify"


async def test_the_help_key_shows_the_menu(db: str, redis: Redis, settings: Settings) -> None:
    assert await Chat(redis, settings).click(menu.MENU_HELP) == [menu.MENU_TEXT]


async def test_after_thirty_idle_minutes_the_next_message_hears_of_the_reset(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    chat.clock += IDLE_TIMEOUT_S + 1
    replies = await chat.say("全部")
    assert replies[0] == engine.TIMED_OUT_TEXT
    assert menu.NOT_UNDERSTOOD_TEXT in replies[1]  # "全部" answered nothing any more
    assert not (await chat.state()).active


async def test_a_dialog_within_thirty_minutes_goes_on(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    chat.clock += IDLE_TIMEOUT_S - 5
    [reply] = await chat.say("全部")
    assert reply.startswith("已选择：全部40个领域")


async def test_each_message_restarts_the_idle_timer(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    chat.clock += IDLE_TIMEOUT_S - 5
    await chat.say("全部")
    chat.clock += IDLE_TIMEOUT_S - 5
    [reply] = await chat.say("近三年")
    assert "请选择报告用途" in reply


async def test_after_the_timeout_a_new_dialog_can_start_at_once(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    chat.clock += IDLE_TIMEOUT_S + 1
    replies = await chat.say("报告")
    assert replies[0] == engine.TIMED_OUT_TEXT
    assert "请选择核查领域" in replies[1]


async def test_an_unexpected_error_is_logged_answered_with_an_apology_and_keeps_the_state(
    db: str,
    redis: Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")

    async def broken(state: DialogState, turn: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(engine.DIALOGS["report"].STEPS, "domains", broken)
    with caplog.at_level(logging.ERROR, logger="bot.engine"):
        assert await chat.say("全部") == [engine.SORRY_TEXT]
    assert "boom" in caplog.text
    state = await chat.state()
    assert (state.dialog, state.step) == ("report", "domains")


async def test_an_unreadable_state_in_redis_is_dropped_not_repeated_forever(
    db: str, redis: Redis, settings: Settings
) -> None:
    await redis.set("bot:state:o-user-1", b"{not json")
    assert await Chat(redis, settings).say("菜单") == [menu.MENU_TEXT]


async def test_a_state_of_an_unknown_dialog_or_step_is_dropped(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    for dialog, step in (("lottery", "draw"), ("report", "no-such-step")):
        await save_state(redis, chat.openid, DialogState(dialog, step), chat.clock)
        [reply] = await chat.say("全部")
        assert reply.startswith(menu.NOT_UNDERSTOOD_TEXT)


async def test_a_database_failure_before_any_dialog_is_answered_with_an_apology(
    db: str,
    redis: Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def down(*args: Any, **kw: Any) -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(User, "get_or_none", down)
    with caplog.at_level(logging.ERROR, logger="bot.engine"):
        assert await Chat(redis, settings).say("菜单") == [engine.SORRY_TEXT]
    assert "database down" in caplog.text


async def test_the_state_is_written_only_after_the_step(
    db: str, redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed between the step and the write replays the step from the old state."""
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    before = await redis.get("bot:state:o-user-1")

    async def killed(*args: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr(engine, "save_state", killed)
    with pytest.raises(SystemExit):
        await chat.say("全部")
    assert await redis.get("bot:state:o-user-1") == before
    monkeypatch.setattr(engine, "save_state", save_state)
    [reply] = await chat.say("全部")
    assert reply.startswith("已选择：全部40个领域")


async def test_a_dialogs_name_inside_another_dialog_switches_to_it(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat, _ = await bound_chat(redis, settings)
    await chat.say("报告")
    [reply] = await chat.say("验证")
    assert (await chat.state()).dialog == "verify"
    [reply] = await chat.say("2")  # a number answers the question instead
    assert reply.startswith("没有找到报告编号和核验码")
