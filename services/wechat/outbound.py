"""The sender (wx.outbound on `wx:outbound`): the bot's replies and ready reports, to WeChat.

Customer-service messages may only go out within 48 hours of the user's last message
(User.oa_last_message_at) and only a few per window, so the sender counts what it sent since the
user last wrote. Outside the window, or past the quota (and on WeChat's 45015/45047, should our
view be wrong), a report is announced by template message and every message is *held* in a Redis
list until the user writes again; the inbound job then puts the held messages back on the queue.

A job is delivered at least once. Each part of a message (a report is an image and a text) is
marked sent in Redis right after WeChat accepted it, so a retry resends only what is missing;
a worker killed between WeChat's answer and the mark sends that one part twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from config import clock
from config.calendar import CHINA
from config.settings import Settings
from infra.storage import open_store, read_all
from models.enums import Channel, ReportStatus
from models.report import Report
from models.user import User
from queues.producer import enqueue
from queues.registry import Handler, JobContext
from services.masking import mask_identifier
from services.reports.issuing import parts_ready, verify_url
from services.reports.verification import signed_download_url
from services.wechat.client import (
    MEDIA_MAX_BYTES,
    OUT_OF_WINDOW,
    OVER_QUOTA,
    WeChatApiError,
    WeChatClient,
    wechat_http,
)
from services.wechat.messages import OutboundMessage

log = logging.getLogger(__name__)

OUTBOUND_STREAM = "wx:outbound"
OUTBOUND_JOB = "wx.outbound"
# WeChat's 48 hours, less a minute for clocks that disagree.
CS_WINDOW = timedelta(hours=48) - timedelta(minutes=1)
# Held messages wait as long as a temporary image lives.
HELD_TTL_S = 3 * 24 * 3600
MEDIA_CACHE_TTL_S = 3 * 24 * 3600 - 3600
PART_MARK_TTL_S = 7 * 24 * 3600
# Errors after which sending again cannot help: unknown openid, unfollowed.
GIVE_UP = frozenset({40003, 43004})
TEXT_MAX_BYTES = 2048
REPORT_FAILED_TEXT = "很抱歉，报告 {} 生成失败，我们已记录问题。请稍后回复“报告”重新申请。"

HttpFactory = Callable[[], AbstractAsyncContextManager[aiohttp.ClientSession]]


def quota_key(openid: str) -> str:
    """Customer-service messages sent since the user last wrote."""
    return f"wx:cs:sent:{openid}"


def held_key(openid: str) -> str:
    """Messages waiting for the user to write again (a Redis list of OutboundMessage JSON)."""
    return f"wx:held:{openid}"


def window_open(user: User | None, now: datetime | None = None) -> bool:
    """Whether the user wrote to the OA recently enough for customer-service messages."""
    if user is None or user.oa_last_message_at is None:
        return False
    return (now or clock.utc_now()) - user.oa_last_message_at < CS_WINDOW


async def quota_left(redis: Redis, settings: Settings, openid: str) -> int:
    """Customer-service messages the user may still get before they write again."""
    return settings.wechat_cs_quota - int(await redis.get(quota_key(openid)) or 0)


async def count_sent(redis: Redis, openid: str) -> None:
    """Count one customer-service message against the user's quota."""
    pipe = redis.pipeline(transaction=True)
    pipe.incr(quota_key(openid))
    pipe.expire(quota_key(openid), 48 * 3600)
    await pipe.execute()


async def enqueue_replies(redis: Redis | Pipeline, replies: Sequence[OutboundMessage]) -> None:
    """Queue messages for the sender, in order per user (also inside a MULTI pipeline)."""
    for reply in replies:
        await enqueue(redis, OUTBOUND_STREAM, OUTBOUND_JOB, reply.to_dict(), key=reply.openid)


def split_text(text: str, limit: int = TEXT_MAX_BYTES) -> list[str]:
    """Text in pieces WeChat accepts (2,048 bytes of UTF-8 each), split at line ends if possible."""
    pieces: list[str] = []
    current = ""
    for line in _short_lines(text, limit):
        if current and len((current + line).encode()) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _short_lines(text: str, limit: int) -> Iterator[str]:
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one very long line: cut it between characters
            size, cut = 0, 0
            for cut, ch in enumerate(line):  # noqa: B007
                size += len(ch.encode())
                if size > limit:
                    break
            yield line[:cut]
            line = line[cut:]
        yield line


class Sender:
    """Delivers one OutboundMessage for one job, part by part."""

    def __init__(self, redis: Redis, settings: Settings, client: WeChatClient, job_id: str) -> None:
        self.redis = redis
        self.settings = settings
        self.client = client
        self.job_id = job_id

    async def deliver(self, msg: OutboundMessage) -> None:
        """Send what is not sent yet, or fall back (template, hold) outside window or quota."""
        user = await User.get_or_none(oa_openid=msg.openid)
        parts = await self._parts(msg)
        for name, send in parts:
            mark = f"wx:out:done:{self.job_id}:{name}"
            if await self.redis.exists(mark):
                continue  # sent by an earlier delivery of this job
            if not window_open(user) or await quota_left(self.redis, self.settings, msg.openid) < 1:
                await self._fall_back(msg)
                return
            try:
                await send()
            except WeChatApiError as exc:
                if exc.errcode in (OUT_OF_WINDOW, OVER_QUOTA):
                    # WeChat knows better than our counters: believe it, then fall back.
                    if exc.errcode == OVER_QUOTA:
                        await self.redis.set(quota_key(msg.openid), self.settings.wechat_cs_quota)
                    await self._fall_back(msg)
                    return
                if exc.errcode in GIVE_UP:
                    log.warning("not sending to %s: %s", mask_identifier(msg.openid), exc)
                    return
                raise
            await self.redis.set(mark, "1", ex=PART_MARK_TTL_S)
            await count_sent(self.redis, msg.openid)

    async def _parts(self, msg: OutboundMessage) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        openid = msg.openid
        if msg.kind == "text":
            return [
                (f"text{i}", _bind(self.client.send_text, openid, piece))
                for i, piece in enumerate(split_text(msg.text))
            ]
        if msg.kind == "image":
            data = await asyncio.to_thread(Path(msg.png_path).read_bytes)
            return [("image", lambda: self._send_image(openid, data, None))]
        report = await self._report_with(msg, "card" if msg.kind == "report_card" else "pdf")
        card = ("image", lambda: self._send_report_card(openid, report))
        if msg.kind == "report_card":
            return [card]
        links = ("links", _bind(self.client.send_text, openid, report_text(self.settings, report)))
        if msg.extra.get("card_sent"):
            return [links]  # the card went out as soon as it was stored
        return [card, links]

    async def _report_with(self, msg: OutboundMessage, part: str) -> Report:
        report = await Report.get_or_none(id=msg.report_id)
        if report is None or not parts_ready(report)[part]:
            raise LookupError(f"report {msg.report_id}: its {part} is not ready")
        return report

    async def _send_report_card(self, openid: str, report: Report) -> None:
        data = await read_all(open_store(self.settings), report.png_path or "")
        await self._send_image(openid, data, f"wx:media:report:{report.id}")

    async def _send_image(self, openid: str, data: bytes, cache_key: str | None) -> None:
        if len(data) > MEDIA_MAX_BYTES:
            log.warning("image of %d bytes is over WeChat's 2 MB: sent as link only", len(data))
            return
        media_id = await self.redis.get(cache_key) if cache_key else None
        if media_id is None:
            media_id = await self.client.upload_image(data)
            if cache_key:
                await self.redis.set(cache_key, media_id, ex=MEDIA_CACHE_TTL_S)
        media = media_id.decode() if isinstance(media_id, bytes) else str(media_id)
        try:
            await self.client.send_image(openid, media)
        except WeChatApiError as exc:
            if exc.errcode == 40007 and cache_key:  # expired early: upload again next try
                await self.redis.delete(cache_key)
            raise

    async def _fall_back(self, msg: OutboundMessage) -> None:
        """Outside the window or quota: announce a report by template, hold the message."""
        if msg.kind == "report" and self.settings.wechat_notice_template_id:
            report = await self._report_with(msg, "pdf")
            try:
                await self.client.send_template(
                    msg.openid,
                    self.settings.wechat_notice_template_id,
                    report_template_data(report),
                    url=verify_url(self.settings, report),
                    client_msg_id=f"report:{report.id}:{self.job_id}",
                )
            except WeChatApiError as exc:
                if exc.errcode not in GIVE_UP:
                    raise
                # Unfollowed: the message still waits, in case they follow and write again.
                log.warning("no template message to %s: %s", mask_identifier(msg.openid), exc)
        await hold(self.redis, self.job_id, msg)


def card_announced_key(report_id: int) -> str:
    return f"wx:report-card-announced:{report_id}"


def _bind(
    send: Callable[[str, str], Awaitable[None]], openid: str, text: str
) -> Callable[[], Awaitable[None]]:
    return lambda: send(openid, text)


async def hold(redis: Redis, job_id: str, msg: OutboundMessage) -> None:
    """Keep the message until the user writes again (once per job, however often retried)."""
    if await redis.set(f"wx:held:mark:{job_id}", "1", nx=True, ex=HELD_TTL_S):
        pipe = redis.pipeline(transaction=True)
        pipe.rpush(held_key(msg.openid), json.dumps(msg.to_dict(), ensure_ascii=False))
        pipe.expire(held_key(msg.openid), HELD_TTL_S)
        await pipe.execute()
        log.info("message for %s held until they write again", mask_identifier(msg.openid))


def report_text(settings: Settings, report: Report) -> str:
    """The text that follows a report's card: number, code, PDF link and verify link."""
    minutes = settings.link_ttl_s // 60
    return (
        f"您的专项信用报告已出具。\n报告编号：{report.number}\n核验码：{report.verify_code}\n"
        f"下载 PDF（{minutes} 分钟内有效）：{signed_download_url(settings, report, 'pdf')}\n"
        f"在线核验：{verify_url(settings, report)}"
    )


def report_template_data(report: Report) -> dict[str, dict[str, str]]:
    """The template message that announces a report outside the 48-hour window."""
    issued = (report.ready_at or clock.utc_now()).astimezone(CHINA)
    return {
        "first": {"value": "您的专项信用报告已出具"},
        "keyword1": {"value": report.number},
        "keyword2": {"value": issued.strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": "在公众号给我们发送任意消息，即可收到报告图片和下载链接。"},
    }


def outbound_job(http: HttpFactory = wechat_http) -> Handler:
    """The wx.outbound handler."""

    async def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
        msg = OutboundMessage.from_dict(payload)
        async with http() as session:
            client = WeChatClient.for_oa(ctx.settings, ctx.redis, session)
            await Sender(ctx.redis, ctx.settings, client, ctx.job_id).deliver(msg)

    return handle


def announce_bot_reports(render: Handler) -> Handler:
    """Wrap the report.render handler: a ready report asked for in the bot goes to its user."""

    async def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            await render(ctx, payload)
        except Exception:
            # On its last try the render job marks the report failed: say so, or the user
            # would wait for ever.
            await _announce(ctx.redis, payload["report_id"])
            raise
        await _announce(ctx.redis, payload["report_id"])

    return handle


async def announce_bot_card(ctx: JobContext, report: Report) -> None:
    """The render job's card hook: a bot user gets the card while the PDF is being sealed."""
    if report.channel != Channel.BOT or report.requester_id is None:
        return
    user = await User.get_or_none(id=report.requester_id)
    if user is None or not user.oa_openid:
        return
    # Once per report, however often the render job is delivered.
    if await ctx.redis.set(card_announced_key(report.id), "1", nx=True, ex=PART_MARK_TTL_S):
        await enqueue_replies(ctx.redis, [OutboundMessage(user.oa_openid, "report_card",
                                                          report_id=report.id)])  # fmt: skip


async def _announce(redis: Redis, report_id: int) -> None:
    report = await Report.get_or_none(id=report_id).prefetch_related("requester")
    if report is None or report.channel != Channel.BOT:
        return
    openid = report.requester.oa_openid if report.requester else None
    if not openid or report.status not in (ReportStatus.READY, ReportStatus.FAILED):
        return
    if report.status == ReportStatus.READY:
        card_sent = bool(await redis.exists(card_announced_key(report.id)))
        message = OutboundMessage(openid, "report", report_id=report.id,
                                  extra={"card_sent": True} if card_sent else {})  # fmt: skip
    else:
        message = OutboundMessage(openid, "text", text=REPORT_FAILED_TEXT.format(report.number))
    # Once per report, however often the render job is delivered.
    mark = f"wx:report-announced:{report.id}"
    if await redis.set(mark, "1", nx=True, ex=PART_MARK_TTL_S):
        try:
            await enqueue_replies(redis, [message])
        except Exception:
            await redis.delete(mark)
            raise
