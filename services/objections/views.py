"""Objections as JSON for the enterprise and the department: plain values, Chinese labels.

Stored file paths never leave the server: attachments are addressed by event and position.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from config.calendar import CHINA, calendar_for
from config.catalogue import DEPARTMENTS_BY_CODE, DOMAINS_BY_NUMBER
from models.enums import (
    ObjectionKind,
    ObjectionResolution,
    ObjectionStatus,
    RecordKind,
    RecordStatus,
)
from models.objection import Objection, ObjectionEvent
from models.record import Record
from models.staff import StaffAccount
from services.objections.due import is_overdue
from services.objections.lifecycle import ACTION_LABELS

# The kinds as (value, label), for pickers that print them.
KIND_CHOICES = tuple((k.value, k.label) for k in ObjectionKind)


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(CHINA).isoformat(timespec="seconds") if moment else None


def _labelled(enum: type, value: Any) -> dict[str, str] | None:
    return {"code": str(value), "label": enum(value).label} if value else None


def _files(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"index": i, "name": a["name"], "content_type": a["content_type"], "size": a["size"]}
        for i, a in enumerate(attachments or [], 1)
    ]


def actor_label(actor: str) -> str:
    """Who acted, as the enterprise may read it: a department's name (never its clerk's), or
    企业."""
    kind, _, who = actor.partition(":")
    if kind == "dept":
        code = who.partition("/")[0]
        spec = DEPARTMENTS_BY_CODE.get(code)
        return spec.name if spec else code
    return "企业"


def acting_staff(actor: str) -> str | None:
    """The sign-in name of the department's person who acted ("dept:samr/staff:zhang.wei"),
    or None for an API key or the enterprise."""
    _, _, person = actor.partition("/staff:")
    return person or None


async def staff_names(events: list[ObjectionEvent]) -> dict[str, str]:
    """The names (姓名) of the staff the events name, by sign-in name."""
    usernames = {u for u in (acting_staff(e.actor) for e in events) if u}
    if not usernames:
        return {}
    rows = await StaffAccount.filter(username__in=usernames).values_list("username", "name")
    return dict(rows)  # type: ignore[arg-type]


def event_dict(event: ObjectionEvent, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An event; with `names` (the department's own view) also the person who acted."""
    handed = event.handed_to if event.handed_to_id else None
    out = {
        "id": event.id,
        "action": event.action,
        "action_label": ACTION_LABELS.get(event.action, event.action),
        "actor": actor_label(event.actor),
        "from_status": _labelled(ObjectionStatus, event.from_status),
        "to_status": _labelled(ObjectionStatus, event.to_status),
        "handed_to": {"code": handed.code, "name": handed.name} if handed else None,
        "note": event.note,
        "attachments": _files(event.attachments),
        "time": _time(event.created_at),
    }
    if names is not None:
        person = acting_staff(event.actor)
        out["staff"] = {"username": person, "name": names.get(person, person)} if person else None
    return out


def record_dict(record: Record) -> dict[str, Any]:
    """A record as the enterprise sees it, to point an objection at (or as a ticket's subject)."""
    return {
        "id": record.id,
        "domain": record.domain_id,
        "kind": RecordKind(record.kind).label,
        "decision_no": record.decision_no,
        "authority": record.authority,
        "decision_date": record.decision_date.isoformat(),
        "summary": record.summary,
        "status": RecordStatus(record.status).label,
        "version": record.version,
    }


def objection_dict(
    objection: Objection,
    today: date,
    *,
    for_enterprise: bool,
    events: list[ObjectionEvent] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ticket (its department, enterprise, record and report fetched). The department's view
    (`names` given, from staff_names) says which of its people acted; the enterprise's never."""
    record = objection.record if objection.record_id else None
    domain = DOMAINS_BY_NUMBER.get(objection.domain_id) if objection.domain_id else None
    out: dict[str, Any] = {
        "id": objection.id,
        "ticket_no": objection.ticket_no,
        "kind": _labelled(ObjectionKind, objection.kind),
        "status": _labelled(ObjectionStatus, objection.status),
        "resolution": _labelled(ObjectionResolution, objection.resolution),
        "text": objection.text,
        "enterprise": {"name": objection.enterprise.name, "uscc": objection.enterprise.uscc},
        "department": {"code": objection.department.code, "name": objection.department.name},
        "domain": {"number": domain.number, "name": domain.name} if domain else None,
        "record": record_dict(record) if record else None,
        "report_no": objection.report.number if objection.report_id else None,
        "channel": str(objection.channel),
        "attachments": _files(objection.attachments),
        "accept_due": objection.accept_due.isoformat(),
        "resolve_due": objection.resolve_due.isoformat(),
        # Due dates computed on a holiday calendar that is only estimated (预计).
        "due_estimated": calendar_for().is_estimated(objection.accept_due, objection.resolve_due),
        "overdue": is_overdue(objection, today),
        "created_at": _time(objection.created_at),
        "accepted_at": _time(objection.accepted_at),
        "resolved_at": _time(objection.resolved_at),
        "closed_at": _time(objection.closed_at),
    }
    if for_enterprise:
        out["query_code"] = objection.query_code
    else:
        out["source_ref"] = record.source_ref if record else None
    if events is not None:
        shown = None if for_enterprise else names
        out["timeline"] = [event_dict(e, shown) for e in events]
    return out
