"""What an enterprise's objection may point at, for pickers that start from a report (the
bot's): the ready reports it may object to, and the records a report prints that are still open
to objection (services.objections.lifecycle.records_open_to_objection, the mini-program's rule).
"""

from __future__ import annotations

from typing import Any

from config.calendar import CHINA
from models.enums import ReportStatus
from models.report import Report
from services.access import enterprises_for
from services.errors import NotFound
from services.objections.lifecycle import records_open_to_objection
from services.objections.views import record_dict


async def reports_open_to_objection(user_id: int, limit: int) -> list[dict[str, Any]]:
    """The ready reports on enterprises the user may raise objections for, newest first."""
    acting, _ = await enterprises_for(user_id, "objections")
    reports = (
        await Report.filter(
            enterprise_id__in=[a.enterprise_id for a in acting], status=ReportStatus.READY
        )
        .order_by("-created_at", "-id")
        .limit(limit)
        .prefetch_related("enterprise")
    )
    return [
        {
            "id": r.id,
            "report_no": r.number,
            "enterprise": {"id": r.enterprise_id, "name": r.enterprise.name},
            "created_on": r.created_at.astimezone(CHINA).date().isoformat(),
        }
        for r in reports
    ]


async def records_in_report(user_id: int, report_id: int) -> dict[str, Any]:
    """A report the user may object to, with the records it prints for the enterprise itself
    that are still open to objection, in the order it prints them (each with its domain's name).
    """
    acting, _ = await enterprises_for(user_id, "objections")
    report = await Report.get_or_none(
        id=report_id, status=ReportStatus.READY, enterprise_id__in=[a.enterprise_id for a in acting]
    )
    if report is None:  # the same answer for another enterprise's report as for none
        raise NotFound("未找到该报告", code="report_not_found")
    open_records = await records_open_to_objection(user_id, report.enterprise_id)
    by_number = {(r.domain_id, r.decision_no): r for r in open_records}
    main = (report.snapshot or {"sections": [{"domains": []}]})["sections"][0]
    records = [
        {**record_dict(record), "domain_name": domain["name"]}
        for domain in main["domains"]
        for printed in domain["records"]
        if (record := by_number.get((domain["number"], printed["decision_no"]))) is not None
    ]
    return {
        "id": report.id,
        "report_no": report.number,
        "enterprise_id": report.enterprise_id,
        "records": records,
    }
