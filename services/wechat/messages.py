"""What flows in and out of the bot, independent of WeChat's XML.

The webhook turns WeChat XML into InboundMessage (via wechatpy's parser); the conversation engine
answers with OutboundMessage values; the outbound sender turns those into customer-service calls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from redis.asyncio import Redis

from config.settings import Settings

InboundKind = Literal["text", "image", "event", "other"]
OutboundKind = Literal["text", "image", "report_card", "report"]


@dataclass(frozen=True)
class InboundMessage:
    openid: str
    kind: InboundKind
    create_time: int
    content: str = ""  # text messages
    media_id: str = ""  # image messages
    event: str = ""  # subscribe, unsubscribe, CLICK ... (lower case)
    event_key: str = ""  # menu key for CLICK
    msg_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboundMessage:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def message_identity(msg: InboundMessage) -> str:
    """What WeChat's retries share: MsgId for messages, FromUserName+CreateTime for events."""
    if msg.msg_id and msg.msg_id != "0":
        return f"m:{msg.msg_id}"
    return f"e:{msg.openid}:{msg.create_time}"


@dataclass(frozen=True)
class OutboundMessage:
    """One message to send to an Official Account user.

    kind "text": `text`. kind "image": `png_path` of a file of at most 2 MB. kind "report_card":
    the card of report `report_id` is stored (its sealed PDF follows), send it as an image. kind
    "report": the report is ready, send its card, then its links as text (only the links when
    `extra["card_sent"]`: the report_card message went before it).
    """

    openid: str
    kind: OutboundKind
    text: str = ""
    png_path: str = ""
    report_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutboundMessage:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class BotEngine(Protocol):
    """The conversation engine (bot.engine.handle): one inbound message in, replies out.

    It keeps the user's dialog state in Redis itself, so that a worker killed mid-dialog resumes.
    """

    async def __call__(
        self, redis: Redis, settings: Settings, msg: InboundMessage
    ) -> list[OutboundMessage]: ...
