"""Objections (异议): submit, route, accept or reject, hand over, resolve, close.

States: submitted → accepted | rejected (不予受理) → resolved (更正/更新/修复/维持/答复) → closed.
Every change is one ObjectionEvent (actor, time, note, attachments) committed with the ticket's
new state, then one `notify.send` job (services.objections.events). A department acts only on
tickets routed to it (403 otherwise); an enterprise user sees only the tickets of enterprises
whose binding grants the `objections` scope.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from config import clock
from config.settings import Settings
from infra.formula import starts_like_formula
from infra.numbering import next_serial_number
from models.catalogue import Department
from models.enums import (
    Channel,
    ObjectionKind,
    ObjectionResolution,
    ObjectionStatus,
    RecordStatus,
)
from models.objection import Objection, ObjectionEvent
from models.record import Record
from services.access import binding_allows, live_bindings, require_scope
from services.accounts.department_keys import DepartmentIdentity
from services.audit import append_audit
from services.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unprocessable
from services.ingest.push import today_in_china
from services.objections.attachments import AttachmentStore, validate_image, validate_images
from services.objections.due import OPEN_STATUSES, Deadlines
from services.objections.events import notify_event
from services.objections.records import RecordChange, change_record
from services.objections.routing import handover_target, route
from services.ratelimit import check_rate
from services.reports.issuing import CODE_ALPHABET

__all__ = [
    "submit_objection",
    "objections_for_user",
    "objection_timeline",
    "validate_image",
]

MAX_TEXT_CHARS = 2000
MAX_NOTE_CHARS = 1000
QUERY_CODE_LENGTH = 6
MAX_LISTED_RECORDS = 500
SUBMISSIONS_PER_HOUR = 20  # per user: far above any real need, far below a flood
S = ObjectionStatus
R = ObjectionResolution

ACTION_LABELS = {
    "submit": "提交异议",
    "accept": "受理",
    "reject": "不予受理",
    "handover": "转交",
    "ask": "请企业补充材料",
    "resolve": "办结",
    "close": "关闭",
}
# What a department may answer to each kind of objection.
RESOLUTIONS: dict[ObjectionKind, tuple[ObjectionResolution, ...]] = {
    ObjectionKind.CORRECTION: (R.CORRECTED, R.MAINTAINED),
    ObjectionKind.UPDATE: (R.UPDATED, R.MAINTAINED),
    ObjectionKind.REPAIR: (R.REPAIRED, R.MAINTAINED),
    ObjectionKind.DETAIL: (R.ANSWERED,),
}
CHANGES_RECORD = (R.CORRECTED, R.UPDATED, R.REPAIRED)
NEEDS_NOTE = (R.MAINTAINED, R.ANSWERED)


def _settings(settings: Settings | None) -> Settings:
    return settings or Settings.from_env()


def _now(now: datetime | None) -> datetime:
    return (now or clock.utc_now()).replace(microsecond=0)


def _kind(kind: str) -> ObjectionKind:
    try:
        return ObjectionKind(kind)
    except ValueError:
        raise InvalidRequest(
            "异议类型应为 correction（信息更正）、update（信息更新）、repair（信用修复）"
            "或 detail（详情查询）",
            code="unknown_objection_kind",
        ) from None


def _text(value: str, limit: int, label: str, required: bool) -> str:
    """The text, trimmed. Blank and formula-like texts are refused as rules (422): whether a
    text is needed can hang on another field (a resolution that must be explained)."""
    text = (value or "").strip()
    if required and not text:
        raise Unprocessable(f"请填写{label}", code="text_required")
    if len(text) > limit:
        raise InvalidRequest(f"{label}不能超过 {limit} 个字", code="text_too_long")
    if starts_like_formula(text):  # departments export tickets to spreadsheets
        raise Unprocessable(
            f"{label}不能以 = + - @ 开头（可能被电子表格当作公式执行）", code="formula_injection"
        )
    return text


async def _last_ticket_no(day_prefix: str) -> str | None:
    last = await Objection.filter(ticket_no__startswith=day_prefix).order_by("-ticket_no").first()
    return last.ticket_no if last else None


async def submit_objection(
    redis: Redis,
    *,
    user_id: int,
    enterprise_id: int,
    kind: str,
    text: str,
    record_id: int | None = None,
    report_id: int | None = None,
    domain: int | None = None,
    images: Sequence[tuple[str, bytes]] = (),
    channel: str = "miniprogram",
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Objection:
    """Check, route and store a new ticket with its images, and queue its first notification.

    Every check runs before anything is stored; if storing fails, nothing of it remains.
    """
    settings = _settings(settings)
    await require_scope(user_id, enterprise_id, "objections")
    await check_rate(redis, f"objection-submit:{user_id}", SUBMISSIONS_PER_HOUR, 3600)
    types = validate_images(images)
    objection_kind = _kind(kind)
    body = _text(text, MAX_TEXT_CHARS, "异议内容", required=True)
    try:
        via = Channel(channel)
    except ValueError:
        raise InvalidRequest("未知的办理渠道", code="unknown_channel") from None
    target = await route(enterprise_id, record_id, report_id, domain)
    at = _now(now)
    today = today_in_china(at)
    deadlines = Deadlines.from_settings(settings)
    accept_due = deadlines.accept_due(today)
    store = AttachmentStore.of(settings)
    for _ in range(5):  # a retry only after Redis lost its counter (infra.numbering)
        ticket_no = await next_serial_number(redis, "YY", today, _last_ticket_no)
        stored = await store.put(ticket_no, images, types)
        try:
            async with in_transaction():
                objection = await Objection.create(
                    ticket_no=ticket_no,
                    query_code="".join(
                        secrets.choice(CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH)
                    ),
                    enterprise_id=enterprise_id,
                    report_id=target.report_id,
                    record_id=target.record_id,
                    domain_id=target.domain,
                    kind=objection_kind,
                    text=body,
                    attachments=stored,
                    department_id=target.department_id,
                    submitted_by_id=user_id,
                    channel=via,
                    accept_due=accept_due,
                    resolve_due=deadlines.resolve_due(accept_due, objection_kind),
                    created_at=at,
                )
                event = await ObjectionEvent.create(
                    objection=objection,
                    actor=f"user:{user_id}",
                    action="submit",
                    to_status=S.SUBMITTED,
                    attachments=stored,
                    created_at=at,
                )
            break
        except IntegrityError:
            await store.discard(stored)
        except BaseException:
            await store.discard(stored)
            raise
    else:
        raise Conflict("工单号分配冲突，请稍后重试", code="ticket_no_conflict")
    await _after_event(redis, objection, event, {"channel": via.value})
    return objection


async def _after_event(
    redis: Redis, objection: Objection, event: ObjectionEvent, detail: Mapping[str, Any] = {}
) -> None:
    await objection.fetch_related("department")
    await append_audit(
        event.actor,
        f"objection.{event.action}",
        "objection",
        objection.ticket_no,
        {"to_status": str(event.to_status), "event_id": event.id, **detail},
    )
    await notify_event(redis, objection, event)


# ---- the enterprise's side ------------------------------------------------------------------


async def _enterprises_of(user_id: int) -> list[int]:
    return [
        b.enterprise_id for b in await live_bindings(user_id) if binding_allows(b, "objections")
    ]


async def objections_for_user(user_id: int, open_only: bool = False) -> list[Objection]:
    """The tickets of every enterprise the user may raise objections for, newest first."""
    query = Objection.filter(enterprise_id__in=await _enterprises_of(user_id))
    if open_only:
        query = query.filter(status__in=OPEN_STATUSES)
    return await query.order_by("-created_at", "-id").prefetch_related(
        "department", "enterprise", "record", "report"
    )


async def objection_for_user(user_id: int, objection_id: int) -> Objection:
    """One of the user's tickets; the same 404 for another enterprise's and for none."""
    objection = await Objection.get_or_none(
        id=objection_id, enterprise_id__in=await _enterprises_of(user_id)
    ).prefetch_related("department", "enterprise", "record", "report")
    if objection is None:
        raise NotFound("未找到该异议", code="objection_not_found")
    return objection


async def objection_timeline(objection_id: int) -> list[ObjectionEvent]:
    """Every event of a ticket, oldest first."""
    return (
        await ObjectionEvent.filter(objection_id=objection_id)
        .order_by("created_at", "id")
        .prefetch_related("handed_to")
    )


async def records_open_to_objection(
    user_id: int, enterprise_id: int, domain: int | None = None
) -> list[Record]:
    """The enterprise's records an objection may point at (revoked ones are not in reports),
    newest decision first; for the mini-program's and the bot's pickers."""
    await require_scope(user_id, enterprise_id, "objections")
    query = Record.filter(enterprise_id=enterprise_id).exclude(status=RecordStatus.REVOKED)
    if domain is not None:
        query = query.filter(domain_id=domain)
    return await query.order_by("-decision_date", "-id").limit(MAX_LISTED_RECORDS)


async def close_by_user(
    redis: Redis, user_id: int, objection_id: int, note: str = "", now: datetime | None = None
) -> Objection:
    """The enterprise confirms a resolved ticket: closed."""
    objection = await objection_for_user(user_id, objection_id)  # checks the scope
    await _transition(redis, objection, actor=f"user:{user_id}", action="close",
                      allowed=(S.RESOLVED,), to=S.CLOSED, note=note, now=now,
                      updates={"closed_at": _now(now)})  # fmt: skip
    return objection


# ---- the department's side ------------------------------------------------------------------


async def objections_for_department(
    department: DepartmentIdentity,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    today: date | None = None,
) -> list[Objection]:
    """The tickets routed to the department, oldest due first; by status, overdue or not."""
    query = Objection.filter(department_id=department.id)
    if status is not None:
        try:
            query = query.filter(status=ObjectionStatus(status))
        except ValueError:
            known = "、".join(s.value for s in ObjectionStatus)
            raise InvalidRequest(f"status 应为：{known}", code="unknown_status") from None
    if overdue is not None:
        day = today or today_in_china()
        late = Q(status=S.SUBMITTED, accept_due__lt=day) | Q(status=S.ACCEPTED, resolve_due__lt=day)
        query = query.filter(late) if overdue else query.exclude(late)
    return await query.order_by("accept_due", "id").prefetch_related(
        "department", "enterprise", "record", "report"
    )


async def objection_for_department(department: DepartmentIdentity, objection_id: int) -> Objection:
    """A ticket the department holds; 403 for one routed elsewhere."""
    objection = await Objection.get_or_none(id=objection_id).prefetch_related(
        "department", "enterprise", "record", "report"
    )
    if objection is None:
        raise NotFound("未找到该异议", code="objection_not_found")
    if objection.department_id != department.id:
        raise Forbidden("该异议不由本部门办理", code="objection_not_routed_here")
    return objection


async def _department_images(
    settings: Settings, objection: Objection, images: Sequence[tuple[str, bytes]]
) -> list[dict[str, Any]]:
    types = validate_images(images)
    return await AttachmentStore.of(settings).put(objection.ticket_no, images, types)


async def accept(
    redis: Redis,
    department: DepartmentIdentity,
    objection_id: int,
    *,
    note: str = "",
    images: Sequence[tuple[str, bytes]] = (),
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Objection:
    """受理: the resolve due date is counted from today."""
    settings = _settings(settings)
    objection = await objection_for_department(department, objection_id)
    at = _now(now)
    due = Deadlines.from_settings(settings).resolve_due(today_in_china(at), objection.kind)
    await _transition(redis, objection, actor=department.actor, action="accept",
                      allowed=(S.SUBMITTED,), to=S.ACCEPTED, note=note, now=at,
                      images=images, settings=settings,
                      updates={"accepted_at": at, "resolve_due": due})  # fmt: skip
    return objection


async def reject(
    redis: Redis,
    department: DepartmentIdentity,
    objection_id: int,
    *,
    note: str,
    images: Sequence[tuple[str, bytes]] = (),
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Objection:
    """不予受理, with the reason."""
    note = _text(note, MAX_NOTE_CHARS, "不予受理的理由", required=True)
    objection = await objection_for_department(department, objection_id)
    await _transition(redis, objection, actor=department.actor, action="reject",
                      allowed=(S.SUBMITTED,), to=S.REJECTED, note=note, now=now,
                      images=images, settings=_settings(settings),
                      updates={"closed_at": _now(now)})  # fmt: skip
    return objection


async def hand_over(
    redis: Redis,
    department: DepartmentIdentity,
    objection_id: int,
    *,
    to_department: str,
    note: str = "",
    now: datetime | None = None,
) -> Objection:
    """转交 another department of the same domain; the ticket keeps its state and due dates."""
    objection = await objection_for_department(department, objection_id)
    target = await handover_target(objection.domain_id, department.code, to_department)
    await _transition(redis, objection, actor=department.actor, action="handover",
                      allowed=OPEN_STATUSES, to=objection.status, note=note, now=now,
                      handed_to=target, updates={"department_id": target.id})  # fmt: skip
    return objection


async def ask_for_more(
    redis: Redis,
    department: DepartmentIdentity,
    objection_id: int,
    *,
    note: str,
    now: datetime | None = None,
) -> Objection:
    """请企业补充材料: the enterprise is told what is missing (a notice like every event's); the
    ticket keeps its state and due dates."""
    note = _text(note, MAX_NOTE_CHARS, "需要补充的材料", required=True)
    objection = await objection_for_department(department, objection_id)
    await _transition(redis, objection, actor=department.actor, action="ask",
                      allowed=OPEN_STATUSES, to=objection.status, note=note, now=now,
                      updates={})  # fmt: skip
    return objection


async def resolve(
    redis: Redis,
    department: DepartmentIdentity,
    objection_id: int,
    *,
    resolution: str,
    note: str = "",
    record_changes: Mapping[str, Any] | None = None,
    images: Sequence[tuple[str, bytes]] = (),
    settings: Settings | None = None,
    now: datetime | None = None,
) -> tuple[Objection, RecordChange | None]:
    """办结. Corrected, updated or repaired: the record changes through the ingestion path."""
    objection = await objection_for_department(department, objection_id)
    outcome = _resolution(objection.kind, resolution)
    note = _text(note, MAX_NOTE_CHARS, "办理说明", required=outcome in NEEDS_NOTE)
    _check_status(objection, (S.ACCEPTED,), "resolve")
    changes = dict(record_changes or {})
    if outcome == R.REPAIRED:
        changes.setdefault("status", "repaired")
    change = None
    if outcome in CHANGES_RECORD and objection.record_id is not None:
        if not changes:
            raise Unprocessable(
                "请在 record 中填写更正或更新后的字段", code="record_changes_required"
            )
        change = await change_record(objection.record_id, changes, now=now,
                                     department_code=department.code, actor=department.actor,
                                     ticket_no=objection.ticket_no)  # fmt: skip
    elif record_changes:
        raise Unprocessable(
            "该办理结果不修改记录；异议未指向具体记录时，请通过数据推送接口补充或更正",
            code="record_changes_not_applicable",
        )
    await _transition(redis, objection, actor=department.actor, action="resolve",
                      allowed=(S.ACCEPTED,), to=S.RESOLVED, note=note, now=now,
                      images=images, settings=_settings(settings),
                      updates={"resolution": outcome, "resolved_at": _now(now)})  # fmt: skip
    return objection, change


async def close_by_department(
    redis: Redis, department: DepartmentIdentity, objection_id: int, *, note: str = "",
    now: datetime | None = None,
) -> Objection:  # fmt: skip
    objection = await objection_for_department(department, objection_id)
    await _transition(redis, objection, actor=department.actor, action="close",
                      allowed=(S.RESOLVED,), to=S.CLOSED, note=note, now=now,
                      updates={"closed_at": _now(now)})  # fmt: skip
    return objection


def _resolution(kind: ObjectionKind | str, value: str) -> ObjectionResolution:
    allowed = RESOLUTIONS[ObjectionKind(kind)]
    try:
        outcome = ObjectionResolution(value)
    except ValueError:
        outcome = None
    if outcome not in allowed:
        names = "、".join(f"{r.value}（{r.label}）" for r in allowed)
        raise Unprocessable(
            f"{ObjectionKind(kind).label}类异议的办理结果应为：{names}", code="invalid_resolution"
        )
    return outcome


def _check_status(objection: Objection, allowed: Collection[ObjectionStatus], action: str) -> None:
    if objection.status not in allowed:
        raise Conflict(
            f"该异议当前状态为“{ObjectionStatus(objection.status).label}”，"
            f"不能{ACTION_LABELS[action]}",
            code="invalid_transition",
        )


async def _transition(
    redis: Redis,
    objection: Objection,
    *,
    actor: str,
    action: str,
    allowed: Collection[ObjectionStatus],
    to: ObjectionStatus,
    note: str,
    updates: dict[str, Any],
    now: datetime | None = None,
    images: Sequence[tuple[str, bytes]] = (),
    settings: Settings | None = None,
    handed_to: Department | None = None,
) -> ObjectionEvent:
    """One state change: the ticket's row (only if nobody changed it meanwhile) and its event,
    in one transaction; then the audit entry and the notification."""
    _check_status(objection, allowed, action)
    note = _text(note, MAX_NOTE_CHARS, "说明", required=False)
    at = _now(now)
    stored = await _department_images(settings, objection, images) if images and settings else []
    try:
        async with in_transaction():
            changed = await Objection.filter(
                id=objection.id, status=objection.status, department_id=objection.department_id
            ).update(status=to, updated_at=at, **updates)
            if not changed:
                raise Conflict("该异议刚被他人处理，请刷新后重试", code="objection_changed")
            event = await ObjectionEvent.create(
                objection_id=objection.id,
                actor=actor,
                action=action,
                from_status=objection.status,
                to_status=to,
                handed_to=handed_to,
                note=note,
                attachments=stored,
                created_at=at,
            )
    except BaseException:
        if stored and settings:
            await AttachmentStore.of(settings).discard(stored)
        raise
    await objection.refresh_from_db()
    await _after_event(redis, objection, event)
    return event


async def attachment(
    objection: Objection, event_id: int, index: int, settings: Settings
) -> tuple[bytes, str]:
    """The bytes and type of an event's index-th image (1-based), for those who see the ticket."""
    event = await ObjectionEvent.get_or_none(id=event_id, objection_id=objection.id)
    if event is None or not 1 <= index <= len(event.attachments or []):
        raise NotFound("未找到该附件", code="attachment_not_found")
    described = event.attachments[index - 1]
    data = await AttachmentStore.of(settings).get(described["path"])
    return data, described["content_type"]
