"""The department console's objection work: the same lifecycle calls as the department API
(services.objections.lifecycle), made for the signed-in person's department, with the person
named in the audit trail beside the department's own ticket event.

Viewers read; handlers and admins act. A ticket of another department is refused by the
lifecycle itself (403), as for a key of that department.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

from config.calendar import calendar_for
from config.catalogue import DEPARTMENTS_BY_CODE, DOMAINS_BY_NUMBER
from config.settings import Settings
from models.enums import ObjectionKind, ObjectionStatus
from models.objection import Objection
from models.staff import ObjectionClaim, StaffRole
from services.accounts.department_keys import DepartmentIdentity, department_by_code
from services.accounts.staff import StaffIdentity
from services.audit import append_audit
from services.errors import Conflict, Forbidden, InvalidRequest
from services.objections import lifecycle
from services.objections.views import objection_dict, staff_names

ACTING_ROLES = frozenset({StaffRole.DEPT_HANDLER, StaffRole.DEPT_ADMIN})
ACTIONS = ("claim", "accept", "ask", "reject", "resolve", "handover")
OPEN = (ObjectionStatus.SUBMITTED, ObjectionStatus.ACCEPTED)


async def department_of(who: StaffIdentity) -> DepartmentIdentity:
    """The department the person works for; Forbidden for people of no department."""
    if not who.department_code:
        raise Forbidden("您的账号不属于任何部门", code="staff_no_department")
    return replace(await department_by_code(who.department_code), staff=who.username)


def waiting_due(objection: Objection) -> date | None:
    """The due date of the step the ticket waits for: acceptance, then resolution."""
    if objection.status == ObjectionStatus.SUBMITTED:
        return objection.accept_due
    if objection.status == ObjectionStatus.ACCEPTED:
        return objection.resolve_due
    return None


def countdown(due: date | None, today: date) -> tuple[str, bool]:
    """What is left before `due`, in working days, and whether it has passed."""
    if due is None:
        return "—", False
    calendar = calendar_for()
    if due < today:
        return f"已逾期 {calendar.working_days_between(due, today)} 个工作日", True
    if due == today:
        return "今日到期", False
    return f"剩余 {calendar.working_days_between(today, due)} 个工作日", False


def _kind(value: str | None) -> ObjectionKind | None:
    if not value:
        return None
    try:
        return ObjectionKind(value)
    except ValueError:
        raise InvalidRequest("未知的异议类型", code="unknown_kind") from None


async def inbox(
    who: StaffIdentity, today: date, *, kind: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """The department's tickets, the soonest due first (finished ones last), each with its
    working-day countdown; filtered by kind and status."""
    department = await department_of(who)
    wanted = _kind(kind)
    rows = await lifecycle.objections_for_department(department, status=status or None)
    rows = [o for o in rows if wanted is None or o.kind == wanted]
    rows.sort(key=lambda o: (waiting_due(o) is None, waiting_due(o) or date.max, o.id))
    claimants = await _claimants([o.id for o in rows])
    items = []
    for objection in rows:
        item = objection_dict(objection, today, for_enterprise=False)
        item["countdown"], item["late"] = countdown(waiting_due(objection), today)
        item["claimed_by"] = claimants.get(objection.id)
        items.append(item)
    return items


async def _claimants(objection_ids: list[int]) -> dict[int, str]:
    claims = await ObjectionClaim.filter(objection_id__in=objection_ids).select_related("staff")
    return {c.objection_id: c.staff.name for c in claims}  # type: ignore[attr-defined]


async def ticket(who: StaffIdentity, objection_id: int, today: date) -> dict[str, Any]:
    """One ticket of the department with its timeline and what the person may do with it."""
    department = await department_of(who)
    objection = await lifecycle.objection_for_department(department, objection_id)
    events = await lifecycle.objection_timeline(objection.id)
    item = objection_dict(objection, today, for_enterprise=False, events=events,
                          names=await staff_names(events))  # fmt: skip
    item["countdown"], item["late"] = countdown(waiting_due(objection), today)
    acting = who.role in ACTING_ROLES
    status = ObjectionStatus(objection.status)
    claimant = (await _claimants([objection.id])).get(objection.id)
    item["claimed_by"] = claimant
    item["may"] = {
        "claim": acting and status in OPEN and claimant is None,
        "ask": acting and status in OPEN,
        "accept": acting and status == ObjectionStatus.SUBMITTED,
        "reject": acting and status == ObjectionStatus.SUBMITTED,
        "resolve": acting and status == ObjectionStatus.ACCEPTED,
        "handover": acting and status in OPEN and bool(handover_choices(objection, department)),
    }
    item["resolutions"] = [
        {"code": r.value, "label": r.label}
        for r in lifecycle.RESOLUTIONS[ObjectionKind(objection.kind)]
    ]
    item["handover_to"] = handover_choices(objection, department)
    return item


def handover_choices(objection: Objection, department: DepartmentIdentity) -> list[dict[str, str]]:
    """The other departments of the ticket's domain (共管领域), which it may be handed to."""
    number: int | None = objection.domain_id  # type: ignore[attr-defined]
    domain = DOMAINS_BY_NUMBER.get(number) if number else None
    codes = domain.department_codes if domain else ()
    return [{"code": c, "name": DEPARTMENTS_BY_CODE[c].name} for c in codes if c != department.code]


async def act(
    redis: Redis,
    settings: Settings,
    who: StaffIdentity,
    objection_id: int,
    action: str,
    *,
    note: str = "",
    resolution: str = "",
    record_changes: Mapping[str, Any] | None = None,
    to_department: str = "",
    images: Sequence[tuple[str, bytes]] = (),
) -> Objection:
    """One action on a ticket, exactly as the department API does it, audited with the person."""
    if who.role not in ACTING_ROLES:
        raise Forbidden("查看员账号不能办理异议", code="staff_may_not_act")
    if action not in ACTIONS:
        raise InvalidRequest("未知的办理操作", code="unknown_action")
    department = await department_of(who)
    if action == "claim":
        objection = await _claim(who, department, objection_id)
    elif action == "ask":
        objection = await lifecycle.ask_for_more(redis, department, objection_id, note=note)
    elif action == "accept":
        objection = await lifecycle.accept(redis, department, objection_id, note=note,
                                           images=images, settings=settings)  # fmt: skip
    elif action == "reject":
        objection = await lifecycle.reject(redis, department, objection_id, note=note,
                                           images=images, settings=settings)  # fmt: skip
    elif action == "handover":
        objection = await lifecycle.hand_over(redis, department, objection_id,
                                              to_department=to_department, note=note)  # fmt: skip
        await ObjectionClaim.filter(objection_id=objection.id).delete()  # not theirs any more
    else:
        objection, _ = await lifecycle.resolve(
            redis, department, objection_id, resolution=resolution, note=note,
            record_changes=record_changes, images=images, settings=settings,
        )  # fmt: skip
    detail = {"department": department.code, "action": action}
    if action == "handover":
        detail["to"] = to_department
    await append_audit(who.actor, f"staff.objection.{action}", "objection", objection.ticket_no,
                       detail)  # fmt: skip
    return objection


async def _claim(
    who: StaffIdentity, department: DepartmentIdentity, objection_id: int
) -> Objection:
    """认领: the person takes the ticket on; one claimant at a time."""
    objection = await lifecycle.objection_for_department(department, objection_id)
    if objection.status not in OPEN:
        raise Conflict("该异议已办结，无需认领", code="claim_closed")
    held = await ObjectionClaim.get_or_none(objection_id=objection.id).select_related("staff")
    if held is not None and held.staff_id != who.id:  # type: ignore[attr-defined]
        raise Conflict(f"该异议已由{held.staff.name}认领", code="claim_taken")
    if held is None:
        try:
            await ObjectionClaim.create(objection_id=objection.id, staff_id=who.id)
        except IntegrityError:  # someone claimed it at the same instant
            raise Conflict("该异议刚被他人认领，请刷新后查看", code="claim_taken") from None
    return objection
