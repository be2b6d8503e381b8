"""The service-hall window (窗口) console's use of the reports: a window operator finds the
walk-in enterprise, records its consent (the legal representative's ID number, or an agent
authorised with the reports scope), asks for the report exactly as /api/hall does, and records
who collected the printed report. Each hall sees only its own windows' reports.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from redis.asyncio import Redis

from config.calendar import CHINA
from config.settings import Settings
from models.enterprise import Enterprise
from models.enums import ReportStatus
from models.report import Report
from models.staff import HALL_ROLES, ReportHandover, StaffAccount, StaffRole
from models.user import Operator
from services.access import Actor
from services.accounts.staff import StaffIdentity
from services.audit import append_audit
from services.errors import Forbidden, InvalidRequest, NotFound
from services.identity import hash_id_number, is_valid_uscc
from services.reports.requests import ReportAsk, describe_report, request_report

_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
MAX_FOUND = 20


async def window_of(who: StaffIdentity) -> Operator:
    """The window a window operator works at; Forbidden for anyone else."""
    account = await StaffAccount.get(id=who.id).select_related("operator")
    if who.role != StaffRole.WINDOW_OPERATOR or account.operator is None:
        raise Forbidden("只有窗口工作人员可以出具报告", code="staff_not_window")
    return account.operator


async def _hall_windows(who: StaffIdentity) -> list[str]:
    """The operator names of every window of the person's hall."""
    if who.role not in HALL_ROLES or not who.hall:
        raise Forbidden("您的账号不属于任何服务大厅", code="staff_no_hall")
    rows = await StaffAccount.filter(hall=who.hall, operator_id__isnull=False).select_related(
        "operator"
    )
    return [r.operator.name for r in rows if r.operator]


async def find_enterprises(query: str) -> list[dict[str, str]]:
    """Enterprises by their USCC or a part of their name."""
    query = query.strip()[:64]
    if not query:
        return []
    upper = query.upper()
    found = (
        await Enterprise.filter(uscc=upper)
        if is_valid_uscc(upper)
        else await Enterprise.filter(name__icontains=query).order_by("name").limit(MAX_FOUND)
    )
    return [{"uscc": e.uscc, "name": e.name, "legal_rep": e.legal_rep_name} for e in found]


async def request_as_operator(
    redis: Redis, operator: Operator, body: dict[str, Any], client_ip: str
) -> dict[str, Any]:
    """A window's or terminal's request, as /api/hall makes it: the enterprise's consent
    (body["consent"]) checked, then the report asked for under the operator's channel."""
    return await request_report(redis, Actor(operator=operator), ReportAsk.from_body(body),
                                str(operator.channel), consent=body.get("consent"),
                                client_ip=client_ip)  # fmt: skip


# How consent was given, as the audit records it: the first field the request carries.
CONSENT_KINDS = (("legal_rep_id_number", "legal_representative"), ("agent_code", "agent_code"))


async def issue_at_window(
    redis: Redis, who: StaffIdentity, body: dict[str, Any], client_ip: str
) -> dict[str, Any]:
    """The consent checked and the report asked for, as /api/hall does; audited with the
    person."""
    window = await window_of(who)
    asked = await request_as_operator(redis, window, body, client_ip)
    consent = body.get("consent") or {}
    by = next((how for field, how in CONSENT_KINDS if consent.get(field)), "agent")
    await append_audit(who.actor, "staff.window.report_requested", "report", asked["report_no"],
                       {"window": window.name, "consent": by})  # fmt: skip
    return asked


async def hall_report(settings: Settings, who: StaffIdentity, report_id: int) -> dict[str, Any]:
    """A report asked for at one of the person's hall's windows; NotFound for any other."""
    report = await Report.get_or_none(id=report_id).select_related("enterprise")
    windows = await _hall_windows(who)
    if report is None or report.operator not in windows or str(report.channel) != "hall":
        raise NotFound("未找到该报告", code="report_not_found")
    related = await Enterprise.filter(id__in=report.related_enterprise_ids or []).order_by("uscc")
    view = describe_report(settings, report, report.enterprise, list(related))
    view["window"] = report.operator
    handovers = await ReportHandover.filter(report_id=report.id).select_related("staff")
    view["handovers"] = [
        {"collector": h.collector_name, "by": h.staff.name,
         "at": h.handed_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")}
        for h in handovers
    ]  # fmt: skip
    return view


async def todays_reports(who: StaffIdentity, today: date) -> list[dict[str, Any]]:
    """The reports asked for at the hall's windows today (China time), newest first."""
    windows = await _hall_windows(who)
    start = datetime.combine(today, time(), CHINA)
    rows = (
        await Report.filter(operator__in=windows, channel="hall", created_at__gte=start,
                            created_at__lt=start + timedelta(days=1))
        .order_by("-id").select_related("enterprise")
    )  # fmt: skip
    return [
        {"id": r.id, "report_no": r.number, "enterprise": r.enterprise.name,
         "status": ReportStatus(r.status).label,
         "window": r.operator, "at": r.created_at.astimezone(CHINA).strftime("%H:%M")}
        for r in rows
    ]  # fmt: skip


async def record_handover(
    settings: Settings, who: StaffIdentity, report_id: int, collector: str, id_number: str
) -> None:
    """交付: who collected the printed report, their ID number kept only as a keyed hash."""
    await hall_report(settings, who, report_id)  # the hall's own report, or NotFound
    window = await window_of(who)
    collector = collector.strip()
    id_number = id_number.strip().upper()
    if not collector or len(collector) > 32:
        raise InvalidRequest("请填写领取人姓名", code="collector_required")
    if not _ID_NUMBER.fullmatch(id_number):
        raise InvalidRequest("领取人身份证号码应为 18 位", code="collector_id_invalid")
    id_hash = hash_id_number(settings.id_hash_key, id_number)
    await ReportHandover.create(report_id=report_id, staff_id=who.id, collector_name=collector,
                                collector_id_hash=id_hash)  # fmt: skip
    await append_audit(who.actor, "staff.window.report_handed_over", "report", str(report_id),
                       {"window": window.name})  # fmt: skip
