"""Where an objection goes (谁提供谁负责), and to whom a department may hand it over.

A ticket about a record goes to the department that supplied the record. A ticket about a
domain of a report (a record the enterprise believes missing or wrong there) goes to the domain's
lead department, the first one the annex lists. In a domain with several departments, the one
holding a ticket may hand it to another of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.catalogue import DEPARTMENTS_BY_CODE, DOMAINS_BY_NUMBER
from models.catalogue import Department
from models.record import Record
from models.report import Report
from services.errors import InvalidRequest, NotFound, Unprocessable


@dataclass(frozen=True)
class Route:
    department_id: int
    domain: int
    record_id: int | None
    report_id: int | None


async def route(
    enterprise_id: int, record_id: int | None, report_id: int | None, domain: int | None
) -> Route:
    """The department and domain of a new ticket; NotFound for another enterprise's record or
    report, InvalidRequest when neither a record nor a domain is named."""
    report = None
    if report_id is not None:
        report = await Report.get_or_none(id=report_id, enterprise_id=enterprise_id)
        if report is None:
            raise NotFound("未找到该报告", code="report_not_found")
    if record_id is not None:
        record = await Record.get_or_none(id=record_id, enterprise_id=enterprise_id)
        if record is None:
            raise NotFound("未找到该条记录", code="record_not_found")
        if domain is not None and domain != record.domain_id:
            raise Unprocessable("所选领域与该条记录的领域不一致", code="domain_mismatch")
        return Route(record.department_id, record.domain_id, record.id, report_id)
    if domain is None:
        raise InvalidRequest("请指明异议针对的记录或报告中的领域", code="objection_target_required")
    if domain not in DOMAINS_BY_NUMBER:
        raise InvalidRequest("领域序号应为 1 至 40", code="unknown_domain")
    if report is not None and domain not in (report.domains or []):
        raise Unprocessable("该报告未包含所选领域", code="domain_not_in_report")
    lead = await Department.get(code=DOMAINS_BY_NUMBER[domain].lead_department_code)
    return Route(lead.id, domain, None, report_id)


async def handover_target(domain: int, current_code: str, target_code: str) -> Department:
    """The department a ticket may be handed to: another department of the same domain."""
    codes = DOMAINS_BY_NUMBER[domain].department_codes
    if len(codes) < 2:
        raise Unprocessable("该领域仅有一个责任部门，不能转交", code="handover_not_possible")
    if target_code == current_code:
        raise Unprocessable("不能转交给本部门", code="handover_to_self")
    if target_code not in codes:
        names = "、".join(DEPARTMENTS_BY_CODE[c].name for c in codes if c != current_code)
        raise Unprocessable(
            f"只能转交给该领域的其他责任部门：{names}", code="handover_target_invalid"
        )
    return await Department.get(code=target_code)
