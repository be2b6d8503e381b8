"""One module per dialog. Each step is an async function of (state, turn) -> (state, replies).

A dialog module has NAME, TITLE, `start(turn)` and STEPS (step name -> step function). A step
returns IDLE (bot.state) when its dialog is over. Replies are texts, or OutboundMessage values
for anything else (a report card).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from redis.asyncio import Redis

from bot.state import DialogState
from bot.understand import Understanding, understand
from config.calendar import CHINA
from config.settings import Settings
from services.errors import Unavailable
from services.wechat.messages import InboundMessage, OutboundMessage

Reply = str | OutboundMessage
StepResult = tuple[DialogState, list[Reply]]
Step = Callable[[DialogState, "Turn"], Awaitable[StepResult]]
MediaDownloader = Callable[[Redis, Settings, str], Awaitable[bytes]]

CHANNEL = "bot"  # the channel use cases record for what the bot does (Channel.BOT)
# A customer-service text may carry 2048 bytes; Chinese takes 3 bytes a character in UTF-8.
MESSAGE_MAX_CHARS = 600
YES_WORDS = frozenset({"确认", "确定", "是", "是的", "对", "好", "好的", "提交", "yes", "y", "ok"})
NO_WORDS = frozenset({"否", "不是", "不对", "不", "no", "n"})
# How a longer yes or no starts: 是的没错, 对的就是这家, 确认提交吧; 不是这家, 不对重新输.
_YES_START = ("是", "对", "好", "确认", "确定", "没错", "正确", "就是", "可以", "没问题")
YES_MAX_CHARS = 8  # longer is a sentence of its own ("对报告有异议…"), not a yes
_NO_START = ("不", "否", "错", "换", "重新")


async def download_media(redis: Redis, settings: Settings, media_id: str) -> bytes:
    """The bytes of a photo the user sent, through the WeChat API client (imported lazily)."""
    from services.wechat.client import (
        WeChatApiError,
        WeChatClient,
        WeChatUnavailable,
        wechat_http,
    )

    try:
        async with wechat_http() as session:
            data: bytes = await WeChatClient.for_oa(settings, redis, session).download_media(
                media_id
            )
    except (WeChatApiError, WeChatUnavailable) as exc:
        raise Unavailable("图片获取失败，请重新发送这张图片", code="media_unavailable") from exc
    return data


@dataclass(frozen=True)
class Turn:
    """One inbound message with what a step needs around it."""

    redis: Redis
    settings: Settings
    user_id: int  # the Official Account user's (services.accounts.users.oa_user)
    msg: InboundMessage
    now: float  # epoch seconds: the engine's clock, injectable in tests
    download_media: MediaDownloader = download_media

    @property
    def text(self) -> str:
        return self.msg.content.strip()

    @property
    def word(self) -> str:
        """The text without spaces, lower case: for yes/no and menu words."""
        return "".join(self.text.split()).lower().rstrip("。.!！")

    @property
    def today(self) -> date:
        """Today in Chongqing, where the policy's dates are."""
        return datetime.fromtimestamp(self.now, UTC).astimezone(CHINA).date()

    def once_key(self, action: str) -> str:
        """An idempotency key for a side effect of this message."""
        msg_ref = self.msg.msg_id or f"{self.msg.create_time}:{self.msg.kind}"
        return f"{action}:{self.msg.openid}:{msg_ref}"


def yes_or_no(word: str) -> bool | None:
    """True for yes, False for no, None for neither; `word` as Turn.word gives it."""
    word = word.rstrip("。.!！~，,的吧啊呀")
    if "?" in word or "？" in word:
        return None
    if word in YES_WORDS:
        return True
    if word in NO_WORDS or word.startswith(_NO_START):
        return False
    if (
        word.startswith(_YES_START)
        and len(word) <= YES_MAX_CHARS
        and "不" not in word
        and "异议" not in word
    ):
        return True
    return None


def understood(turn: Turn) -> Understanding:
    """What the message says, as bot.understand reads it (nothing for a click or a photo)."""
    if turn.msg.kind != "text":
        return Understanding("", "unknown")
    return understand(turn.text, turn.today, turn.settings)


def numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{i} {item}" for i, item in enumerate(items, start=1))


def paged(header: str, lines: Sequence[str], max_chars: int = MESSAGE_MAX_CHARS) -> list[str]:
    """`header` and the lines, split into messages that WeChat accepts (its limit is in bytes)."""
    messages, current = [], header
    for line in lines:
        if current and len(current) + 1 + len(line) > max_chars:
            messages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*messages, current]


def pick_number(text: str, count: int) -> int | None:
    """The 0-based index the user picked from a numbered list of `count`, or None."""
    matched = re.fullmatch(
        r"\s*第?(\d{1,3})[个项条号]?\s*",
        text.translate(str.maketrans("０１２３４５６７８９", "0123456789")),
    )
    if matched is None:
        return None
    number = int(matched.group(1))
    return number - 1 if 1 <= number <= count else None


def not_allowed_text(bound: bool, doing: str) -> str:
    if bound:
        return f"您的授权不包括{doing}，请联系企业法定代表人调整授权。"
    return (
        f"您还没有绑定企业，暂不能{doing}。请先回复“绑定”，用法定代表人信息或经办人授权码绑定企业。"
    )
