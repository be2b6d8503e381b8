"""Telling the enterprise of every state change: one `notify.send` job per objection event.

The event row is the outbox. It is committed with the state change; the job is enqueued right
after, with a marker in Redis saying it was. If Redis fails in between, the change stands (the
request succeeds) and `requeue_missed` enqueues the job later: it runs every minute in the
server (handlers.dept_objections) and picks up events older than a minute without a marker.

A marker is first a short claim, then "queued" for a week, so a process that dies between the
claim and the enqueue leaves an event that the sweep picks up once the claim expires. A job may
then, rarely, be enqueued twice; the notifier sends each `key` once (models.user.Notification).
If Redis loses its data, the markers go with the jobs, and the sweep enqueues them again.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.timezone import localtime
from tortoise.transactions import in_transaction

from config import clock
from config.calendar import CHINA
from models.enums import Channel, ObjectionResolution, ObjectionStatus
from models.objection import Objection, ObjectionEvent
from models.user import SubscriptionGrant
from queues.producer import enqueue
from services.errors import InvalidRequest
from services.objections.due import estimated_mark

log = logging.getLogger(__name__)
# WeChat template ids: letters, digits, "-" and "_".
_TEMPLATE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

NOTIFY_STREAM = "notify"
NOTIFY_JOB = "notify.send"
CLAIM_TTL_S = 60
QUEUED_TTL_S = 7 * 24 * 3600
SWEEP_WINDOW = timedelta(days=3)  # well inside QUEUED_TTL_S
SWEEP_AFTER = timedelta(seconds=CLAIM_TTL_S)


def event_key(event_id: int) -> str:
    return f"objection-event:{event_id}"


def _marker(event_id: int) -> str:
    return f"objection:notified:{event_id}"


def _day(day: date) -> str:
    """A due date; one that rests on an estimated holiday calendar says so (预计)."""
    return f"{day.year}年{day.month}月{day.day}日{estimated_mark(day)}"


def _when(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _status_text(objection: Objection, event: ObjectionEvent) -> str:
    """The status as the enterprise should read it after this event."""
    if event.action == "handover":
        return f"已转交{event.handed_to.name}办理"
    status = ObjectionStatus(event.to_status).label
    if event.to_status == ObjectionStatus.RESOLVED and objection.resolution:
        return f"{status}（{ObjectionResolution(objection.resolution).label}）"
    return status


def _sentence(objection: Objection, event: ObjectionEvent) -> str:
    department = objection.department.name
    if event.action == "resolve" and objection.resolution:
        result = ObjectionResolution(objection.resolution).label
        return f"已由{department}办结，办理结果：{result}"
    return {
        "submit": f"已提交，由{department}办理，受理期限为{_day(objection.accept_due)}",
        "accept": f"已由{department}受理，办结期限为{_day(objection.resolve_due)}",
        "reject": f"经{department}审查，不予受理",
        "handover": _status_text(objection, event),
        "ask": f"经{department}审查，需要您补充材料",
        "close": "已关闭",
    }.get(event.action, f"状态已更新为{_status_text(objection, event)}")


def notification_payload(objection: Objection, event: ObjectionEvent) -> dict[str, Any]:
    """What the notifier needs (objection.department and event.handed_to must be fetched)."""
    note = event.note.strip()
    text = f"您的异议（工单号 {objection.ticket_no}）{_sentence(objection, event)}。"
    if note:
        text += f"说明：{note}。" if not note.endswith(("。", "！", "？")) else f"说明：{note}"
    # Point the user to where they raised it: a bot user may never have opened the mini-program.
    if objection.channel == Channel.BOT:
        text += "在公众号回复“进度”可查看办理情况。"
    else:
        text += "可在小程序“我的异议”中查看详情。"
    return {
        "key": event_key(event.id),
        "user_id": objection.submitted_by_id,
        "enterprise_id": objection.enterprise_id,
        "text": text,
        "template": {
            "ticket_no": objection.ticket_no,
            "status": _status_text(objection, event),
            "note": note,
            "time": _when(event.created_at),
        },
        "page": f"pages/objection/detail?id={objection.id}",
    }


async def notify_event(redis: Redis, objection: Objection, event: ObjectionEvent) -> bool:
    """Enqueue the event's job unless it already was; False when Redis failed (swept later)."""
    marker = _marker(event.id)
    try:
        if not await redis.set(marker, b"claimed", nx=True, ex=CLAIM_TTL_S):
            return True  # enqueued already, or being enqueued by another process
        payload = notification_payload(objection, event)
        await enqueue(redis, NOTIFY_STREAM, NOTIFY_JOB, payload, key=event_key(event.id))
        await redis.set(marker, b"queued", ex=QUEUED_TTL_S)
    except (RedisError, OSError) as exc:
        log.warning("objection event %s: notification not queued yet (%s)", event.id, exc)
        return False
    return True


async def requeue_missed(redis: Redis, *, older_than: timedelta = SWEEP_AFTER) -> int:
    """Enqueue the jobs of recent events that have no marker; the number enqueued."""
    now = clock.utc_now()
    # In local time: on SQLite the comparison is of the text Tortoise stored, in local time.
    events = (
        await ObjectionEvent.filter(
            created_at__gte=localtime(now - SWEEP_WINDOW),
            created_at__lte=localtime(now - older_than),
        )
        .order_by("id")
        .prefetch_related("handed_to")
    )
    if not events:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.exists(_marker(event.id))
        marked = await pipe.execute()
    missed = [e for e, m in zip(events, marked, strict=True) if not m]
    queued = 0
    for event in missed:
        objection = await Objection.get(id=event.objection_id).prefetch_related("department")
        queued += await notify_event(redis, objection, event)
    if missed:
        log.info("requeued %d objection notifications", queued)
    return queued


MAX_GRANTS_PER_CALL = 10


async def record_grants(user_id: int, template_id: str, count: int) -> int:
    """Add one-time subscribe grants the mini-program obtained (wx.requestSubscribeMessage);
    the notifier takes one per message sent. Returns how many the user now has left."""
    template_id = (template_id or "").strip()
    if not _TEMPLATE_ID.fullmatch(template_id):
        raise InvalidRequest("template_id 无效", code="invalid_template_id")
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not 1 <= count <= MAX_GRANTS_PER_CALL
    ):
        raise InvalidRequest(f"count 应为 1 至 {MAX_GRANTS_PER_CALL} 的整数", code="invalid_count")
    for attempt in range(3):
        try:
            async with in_transaction():
                grant, _ = await SubscriptionGrant.get_or_create(
                    user_id=user_id, template_id=template_id
                )
                await SubscriptionGrant.filter(id=grant.id).update(remaining=F("remaining") + count)
            break
        except IntegrityError:  # two first grants at once: the other row exists now
            if attempt == 2:
                raise
    grant = await SubscriptionGrant.get(user_id=user_id, template_id=template_id)
    return grant.remaining
