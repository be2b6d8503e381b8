"""The conversation engine: one inbound message in, replies out, the user's state kept in Redis.

Order of precedence: events (subscribe, unsubscribe, menu clicks), then 取消 and 帮助/菜单, which
work anywhere, then the step of the dialog the user is in, then what bot.understand makes of the
message: an intent that starts a dialog (with the slots it already fills), a policy question
answered with its source, or chit-chat and anything else answered politely with the menu, never
starting a dialog. Never silence, never a stack trace.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from types import ModuleType

from redis.asyncio import Redis

from bot import menu
from bot.dialogs import (
    MediaDownloader,
    Reply,
    StepResult,
    Turn,
    bind,
    objection,
    progress,
    report,
    understood,
    verify,
)
from bot.dialogs import download_media as wechat_download_media
from bot.state import IDLE, Answered, DialogState, clear_state, load, save_state
from bot.understand import Understanding
from bot.understand import warm as warm_understanding
from bot.understand.faq import UNANSWERED
from config import clock
from config.settings import Settings
from services.accounts.users import oa_user
from services.errors import ServiceError
from services.wechat.messages import InboundMessage, OutboundMessage, message_identity

log = logging.getLogger(__name__)

DIALOGS: dict[str, ModuleType] = {m.NAME: m for m in (report, bind, objection, progress, verify)}
# Intents that start a dialog when the user is in none.
DIALOG_FOR_INTENT = {
    "report": "report",
    "bind": "bind",
    "objection": "objection",
    "repair": "objection",
    "progress": "progress",
    "verify": "verify",
}
MISSES = "_misses"  # in a dialog's data: misunderstandings in a row at the current step
MAX_MISSES = 4
EXPECT_HEAD = "我需要的是："
LAST_TRY_TEXT = "不想办了请回复“取消”，查看全部服务请回复“菜单”。"

TIMED_OUT_TEXT = "由于30分钟没有操作，上次的办理已结束，请重新开始。"
SORRY_TEXT = "抱歉，系统出了点问题，请稍后再试；也可回复“取消”重新开始。"


def _not_understood() -> list[Reply]:
    return [f"{menu.NOT_UNDERSTOOD_TEXT}\n{menu.MENU_TEXT}"]


def _help(state: DialogState) -> list[Reply]:
    if not state.active:
        return [menu.MENU_TEXT]
    return [f"{menu.MENU_TEXT}\n\n{_go_on(state)}"]


def _go_on(state: DialogState) -> str:
    return f"您正在办理“{DIALOGS[state.dialog].TITLE}”，可继续回答上一个问题，或回复“取消”。"


def _cancel(state: DialogState) -> StepResult:
    if not state.active:
        return IDLE, ["当前没有进行中的办理。回复“菜单”查看我能做什么。"]
    return IDLE, [f"已取消“{DIALOGS[state.dialog].TITLE}”。回复“菜单”查看其他服务。"]


async def _start(name: str, turn: Turn) -> StepResult:
    dialog: ModuleType = DIALOGS[name]
    result: StepResult = await dialog.start(turn)
    return result


def _answer(meant: Understanding, state: DialogState) -> list[Reply]:
    """A policy question: the answer and its source, or that the bot cannot answer, and the menu."""
    if meant.answer and meant.answer != UNANSWERED:
        return [meant.answer + (f"\n\n{_go_on(state)}" if state.active else "")]
    return [f"{UNANSWERED}。\n{menu.MENU_TEXT}"]


async def _idle(meant: Understanding, turn: Turn) -> StepResult:
    """What a message means outside any dialog; chit-chat and questions never start one."""
    intent = meant.intent
    if intent in DIALOG_FOR_INTENT:
        return await _start(DIALOG_FOR_INTENT[intent], turn)
    if intent == "cancel":
        return _cancel(IDLE)
    if intent == "help":
        return IDLE, [menu.MENU_TEXT]
    if intent == "faq":
        return IDLE, _answer(meant, IDLE)
    if meant.chitchat:
        return IDLE, [f"{menu.CHITCHAT_TEXT}\n{menu.MENU_TEXT}"]
    return IDLE, _not_understood()


async def _in_dialog(state: DialogState, meant: Understanding, turn: Turn) -> StepResult:
    """A step's answer; a clear 不办了 cancels, and a policy question is answered on the way."""
    dialog = DIALOGS[state.dialog]
    if state.step not in getattr(dialog, "FREE_TEXT_STEPS", ()):
        if meant.intent == "cancel":
            return _cancel(state)
        if meant.intent == "faq" and meant.question and meant.answer != UNANSWERED:
            return state, _answer(meant, state)
    try:
        after, replies = await dialog.STEPS[state.step](state, turn)
    except ServiceError as exc:  # a rule the user broke: say which, and ask again
        after, replies = state, [exc.message]
    if turn.msg.kind != "text":  # a photo that failed is no misunderstanding
        return after, replies
    return _count_misses(state, after, replies)


async def _route(state: DialogState, turn: Turn) -> StepResult:
    """The next state and the replies for one message; raises what the dialogs raise."""
    msg = turn.msg
    if msg.kind == "event":
        if msg.event == "subscribe":
            return IDLE, [menu.WELCOME_TEXT, menu.MENU_TEXT]
        if msg.event == "click":
            name = menu.DIALOG_FOR_KEY.get(msg.event_key)
            if name is None:  # MENU_HELP, or a key from an older menu
                return state, _help(state)
            return await _start(name, turn)
        return state, []  # view, location, template-send reports: not the user talking
    command = menu.normalise_command(msg.content) if msg.kind == "text" else ""
    if command in menu.CANCEL_WORDS:
        return _cancel(state)
    if command in menu.HELP_WORDS:
        return state, _help(state)
    meant = understood(turn)
    if state.active and not (command in menu.DIALOG_FOR_WORD and not command.isdigit()):
        # A number answers the dialog's question; a dialog's name (进度, 绑定...) switches to it.
        return await _in_dialog(state, meant, turn)
    return await _idle(meant, turn)


def _same_step(before: DialogState, after: DialogState) -> bool:
    """The step did not move on: the same question stands, with nothing new collected."""
    strip = {MISSES: None}
    return (before.dialog, before.step) == (after.dialog, after.step) and (
        {**before.data, **strip} == {**after.data, **strip}
    )


def _count_misses(before: DialogState, after: DialogState, replies: list[Reply]) -> StepResult:
    """After two misunderstandings in a row, say what is expected with an example; after four,
    end the dialog. So the step's own prompt is never sent a third time in a row."""
    if not after.active or not _same_step(before, after):
        if MISSES in after.data:
            after = replace(after, data={k: v for k, v in after.data.items() if k != MISSES})
        return after, replies
    misses = before.data.get(MISSES, 0) + 1
    expect = getattr(DIALOGS[after.dialog], "EXPECT", {}).get(after.step, "")
    if misses >= MAX_MISSES:
        title = DIALOGS[after.dialog].TITLE
        return IDLE, [f"多次没有看懂，已结束“{title}”。您可以重新开始。\n{menu.MENU_TEXT}"]
    after = replace(after, data={**after.data, MISSES: misses})
    said = "\n".join(r for r in replies if isinstance(r, str))
    if misses == 2 and expect:
        return after, [f"{said}\n{EXPECT_HEAD}{expect}"]
    if misses == 3 and expect:
        return after, [f"{said}\n{EXPECT_HEAD}{expect}\n{LAST_TRY_TEXT}"]
    return after, replies


def warm(settings: Settings | None = None) -> None:
    """Load jieba's dictionary and the FAQ index now, not on the first message."""
    warm_understanding(settings)


def _outbound(openid: str, replies: list[Reply]) -> list[OutboundMessage]:
    return [
        OutboundMessage(openid=openid, kind="text", text=r) if isinstance(r, str) else r
        for r in replies
    ]


async def handle(
    redis: Redis,
    settings: Settings,
    msg: InboundMessage,
    *,
    now: float | None = None,
    download_media: MediaDownloader = wechat_download_media,
) -> list[OutboundMessage]:
    """Answer one message (services.wechat.messages.BotEngine). The state is written after the
    step, with the message's identity and replies: the same message again gets the same replies
    and takes no step (bot.state)."""
    now = clock.utc_now().timestamp() if now is None else now
    if msg.kind == "event" and msg.event == "unsubscribe":
        await clear_state(redis, msg.openid)
        return []  # nothing can reach a user who has unsubscribed
    identity = message_identity(msg)
    notices: list[Reply] = []
    try:
        stored = await load(redis, msg.openid, now)
        if stored.answered is not None and stored.answered.identity == identity:
            return [OutboundMessage.from_dict(r) for r in stored.answered.replies]
        state = stored.state
        if state.active and state.step not in getattr(DIALOGS.get(state.dialog), "STEPS", {}):
            state = IDLE  # written by a version with other dialogs or steps: start afresh
        if stored.timed_out:
            notices.append(TIMED_OUT_TEXT)
        user = await oa_user(msg.openid)
        turn = Turn(redis, settings, user.id, msg, now, download_media)
    except Exception:
        log.exception("bot: loading the conversation failed")
        return _outbound(msg.openid, [SORRY_TEXT])
    try:
        new_state, replies = await _route(state, turn)
    except ServiceError as exc:  # a rule the user broke: say which, and ask again
        new_state, replies = state, [exc.message]
    except Exception:
        log.exception("bot: dialog %s step %s failed", state.dialog, state.step)
        new_state, replies = state, [SORRY_TEXT]
    out = _outbound(msg.openid, notices + replies)
    answered = Answered(identity, [o.to_dict() for o in out])
    await save_state(redis, msg.openid, new_state, now, answered)
    return out
