"""The bot worker's job (wx.inbound): one user message through the conversation engine.

The queue runs one user's messages one at a time and in order (ordering key = openid), across
any number of workers. This job records the user and when they last wrote (that opens the
48-hour window for customer-service messages), calls the engine, and then in one Redis
transaction: marks the step done, queues the replies on `wx:outbound`, releases what the sender
held for this user, and resets their quota count. So a worker killed at any point loses nothing:
the job runs again, and a step whose mark is set is not run twice.

One window remains, and the engine closes it: a worker killed after the engine saved its state
but before this job's transaction runs the engine again on the same message. The engine keeps
the identity of the last message it handled (`message_identity`) and its replies with its
state, in one write, and answers a repeat with those replies without advancing (bot.state).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from config import clock
from models.enums import NotificationStatus
from models.user import Notification, User
from queues.producer import enqueue
from queues.registry import Handler, JobContext
from services.accounts.users import oa_user
from services.objections.events import NOTIFY_JOB, NOTIFY_STREAM
from services.wechat.messages import BotEngine, InboundMessage, message_identity
from services.wechat.outbound import (
    OUTBOUND_JOB,
    OUTBOUND_STREAM,
    enqueue_replies,
    held_key,
    quota_key,
)

STEP_MARK_TTL_S = 7 * 24 * 3600
# Events by which a user opens the 48-hour window (WeChat: following, scanning a code, a menu
# click of the kinds that push an event); any message they send opens it too.
WINDOW_EVENTS = frozenset({"subscribe", "subscribe_scan", "scan", "click", "scancode_push",
                           "scancode_waitmsg"})  # fmt: skip
# Events the conversation answers; the rest (template delivery reports, reported locations,
# menu links) are recorded and not answered: there is nobody waiting for a reply.
DIALOG_EVENTS = WINDOW_EVENTS | {"unsubscribe"}


def step_mark(job_id: str) -> str:
    """Set when a job's step ran and its replies were queued."""
    return f"wx:step:{job_id}"


def opens_window(msg: InboundMessage) -> bool:
    """Whether this message lets us send customer-service messages for 48 hours."""
    return msg.kind != "event" or msg.event in WINDOW_EVENTS


async def record_message(msg: InboundMessage) -> User:
    """The user behind the openid (created on first contact), with when they last wrote."""
    wrote_at = datetime.fromtimestamp(msg.create_time, UTC)
    user = await oa_user(msg.openid)
    if msg.kind == "event" and msg.event == "unsubscribe":
        user.oa_last_message_at = None  # nothing can reach them until they follow again
    elif opens_window(msg) and (
        user.oa_last_message_at is None or user.oa_last_message_at < wrote_at
    ):
        user.oa_last_message_at = wrote_at
    user.last_seen_at = clock.utc_now()
    await user.save(update_fields=["oa_last_message_at", "last_seen_at"])
    return user


def inbound_job(engine: BotEngine) -> Handler:
    """The wx.inbound handler over `engine`, given by whoever composes the worker (the real one
    is bot.engine.handle; services never import the bot)."""

    async def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
        msg = InboundMessage.from_dict(payload)
        if await ctx.redis.exists(step_mark(ctx.job_id)):
            return  # the step ran and its replies were queued; only the ack was lost
        user = await record_message(msg)
        window = opens_window(msg)
        held: list[bytes] = []
        held_notices: list[dict[str, Any]] = []
        if window:
            held = await ctx.redis.lrange(held_key(msg.openid), 0, -1)
            held_notices = await Notification.filter(
                user_id=user.id, status=NotificationStatus.HELD
            ).values("key", "payload")
        answers = msg.kind != "event" or msg.event in DIALOG_EVENTS
        replies = await engine(ctx.redis, ctx.settings, msg) if answers else []
        pipe = ctx.redis.pipeline(transaction=True)
        pipe.set(step_mark(ctx.job_id), message_identity(msg), ex=STEP_MARK_TTL_S)
        if window:
            pipe.delete(quota_key(msg.openid))  # the user wrote: WeChat's quota starts again
            for raw in held:  # older than this step's replies: they go first
                await enqueue(pipe, OUTBOUND_STREAM, OUTBOUND_JOB, json.loads(raw), key=msg.openid)
            pipe.ltrim(held_key(msg.openid), len(held), -1)
        await enqueue_replies(pipe, replies)
        for notice in held_notices:
            await enqueue(pipe, NOTIFY_STREAM, NOTIFY_JOB, notice["payload"]["request"])
        await pipe.execute()

    return handle
