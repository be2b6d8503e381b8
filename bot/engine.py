"""The conversation engine: one inbound message in, replies out, the user's state kept in Redis.

Order of precedence: events (subscribe, unsubscribe, menu clicks), then 取消 and 帮助/菜单, which
work anywhere, then the step of the dialog the user is in, then the words that start a dialog.
Anything else is answered with 没听懂 and the menu: never silence, never a stack trace.
"""

from __future__ import annotations

import logging
from types import ModuleType

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

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
    verify,
)
from bot.dialogs import download_media as wechat_download_media
from bot.messages import InboundMessage, OutboundMessage
from bot.state import IDLE, DialogState, clear_state, load_state, save_state
from config import clock
from config.settings import Settings
from models.user import User
from services.errors import ServiceError

log = logging.getLogger(__name__)

DIALOGS: dict[str, ModuleType] = {m.NAME: m for m in (report, bind, objection, progress, verify)}

TIMED_OUT_TEXT = "由于30分钟没有操作，上次的办理已结束，请重新开始。"
SORRY_TEXT = "抱歉，系统出了点问题，请稍后再试；也可回复“取消”重新开始。"


async def _user(openid: str) -> User:
    """The Official Account user, created on first contact.

    When the user last wrote (WeChat's 48-hour window) is the inbound job's to record.
    """
    user = await User.get_or_none(oa_openid=openid)
    if user is None:
        try:
            user = await User.create(oa_openid=openid)
        except IntegrityError:  # created by a mini-program login or another job a moment ago
            user = await User.get(oa_openid=openid)
    return user


def _not_understood() -> list[Reply]:
    return [f"{menu.NOT_UNDERSTOOD_TEXT}\n{menu.MENU_TEXT}"]


def _help(state: DialogState) -> list[Reply]:
    if not state.active:
        return [menu.MENU_TEXT]
    title = DIALOGS[state.dialog].TITLE
    return [f"{menu.MENU_TEXT}\n\n您正在办理“{title}”，可继续回答上一个问题，或回复“取消”。"]


async def _start(name: str, turn: Turn) -> StepResult:
    dialog: ModuleType = DIALOGS[name]
    result: StepResult = await dialog.start(turn)
    return result


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
        if not state.active:
            return IDLE, ["当前没有进行中的办理。回复“菜单”查看我能做什么。"]
        return IDLE, [f"已取消“{DIALOGS[state.dialog].TITLE}”。回复“菜单”查看其他服务。"]
    if command in menu.HELP_WORDS:
        return state, _help(state)
    if state.active and not (command in menu.DIALOG_FOR_WORD and not command.isdigit()):
        # A number answers the dialog's question; a dialog's name (进度, 绑定...) switches to it.
        step = DIALOGS[state.dialog].STEPS[state.step]
        result: StepResult = await step(state, turn)
        return result
    if command in menu.DIALOG_FOR_WORD:
        return await _start(menu.DIALOG_FOR_WORD[command], turn)
    if msg.kind == "text" and (
        command.startswith(("验证", "核验")) or verify.mentions_report_number(msg.content)
    ):
        return await _start(verify.NAME, turn)
    return IDLE, _not_understood()


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
    """Answer one message (bot.messages.BotEngine). The state is written after the step."""
    now = clock.utc_now().timestamp() if now is None else now
    if msg.kind == "event" and msg.event == "unsubscribe":
        await clear_state(redis, msg.openid)
        return []  # nothing can reach a user who has unsubscribed
    notices: list[Reply] = []
    try:
        state, timed_out = await load_state(redis, msg.openid, now)
        if state.active and state.step not in getattr(DIALOGS.get(state.dialog), "STEPS", {}):
            state = IDLE  # written by a version with other dialogs or steps: start afresh
        if timed_out:
            notices.append(TIMED_OUT_TEXT)
        turn = Turn(redis, settings, await _user(msg.openid), msg, now, download_media)
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
    await save_state(redis, msg.openid, new_state, now)
    return _outbound(msg.openid, notices + replies)
