"""Reports asked for through every channel: the mini-program, the web site, the Official
Account's bot, service-hall windows and terminals.

Who may ask: a user bound to the enterprise with the `reports` scope, or an operator once the
enterprise's consent checked out. Related enterprises (关联企业) are covered only where the asker
is authorised for them too; the others are listed as excluded, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from redis.asyncio import Redis
from tortoise import connections

from config.catalogue import DEPARTMENTS_BY_CODE, DOMAINS, EARLIEST_DATE
from config.settings import Settings
from models.enterprise import Enterprise
from models.enums import Channel, RelationKind, ReportPurpose, ReportStatus
from models.report import Report
from models.user import Binding, Operator
from services.access import (
    Actor,
    binding_allows,
    report_enterprise_ids,
    require_report_access,
    require_scope,
)
from services.accounts.operators import window_consent
from services.audit import append_audit
from services.errors import Forbidden, InvalidRequest, NotFound
from services.identity import normalise_uscc
from services.reports import issuing
from services.reports.issuing import ReportRequest, parts_ready, verify_url
from services.reports.snapshot import related_enterprises
from services.reports.span import DEFAULT_YEARS
from services.reports.verification import signed_download_url

M = TypeVar("M")

MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
NOT_AUTHORISED_RELATED = "您未获得该关联企业的报告授权，请由其法定代表人绑定或授权后再申请"
WINDOW_RELATED = "窗口办理仅核验了申请企业本身的授权，关联企业需各自办理"
# The policy's terms as (value, label), for channels that print them rather than read an enum.
PURPOSE_CHOICES = tuple((p.value, p.label) for p in ReportPurpose)
CHANNEL_LABELS = tuple((c.value, c.label) for c in Channel)
RELATION_LABELS = tuple(k.label for k in RelationKind)


@dataclass(frozen=True)
class ReportAsk:
    """A report request body, its types checked."""

    uscc: str
    domains: Any
    start: str | None
    end: str | None
    purpose: str
    related: bool

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ReportAsk:
        uscc = body.get("uscc")
        if not isinstance(uscc, str) or not uscc.strip():
            raise InvalidRequest(
                "请填写统一社会信用代码（uscc）", code="missing_field", field="uscc"
            )
        domains = body.get("domains")
        if domains is not None and not isinstance(domains, (str, list)):
            raise InvalidRequest("领域（domains）应为序号列表、“1,5,7”或 all",
                                 code="unknown_domain", field="domains")  # fmt: skip
        start, end = body.get("from"), body.get("to")
        for name, value in (("from", start), ("to", end)):
            if value is not None and not isinstance(value, str):
                raise InvalidRequest("日期应为“年-月-日”格式的字符串，例如 2023-01-31",
                                     code="invalid_date", field=name)  # fmt: skip
        purpose = body.get("purpose", ReportPurpose.LISTING.value)
        if not isinstance(purpose, str):
            raise InvalidRequest("用途应为上市挂牌、再融资、并购重组或债券发行之一",
                                 code="unknown_purpose", field="purpose")  # fmt: skip
        related = body.get("related", False)
        if not isinstance(related, bool):
            raise InvalidRequest("related 应为 true 或 false", code="invalid_related")
        return cls(uscc, domains, start, end, purpose, related)


def _enterprise_ref(e: Enterprise) -> dict[str, Any]:
    return {"uscc": e.uscc, "name": e.name}


async def _split_related(
    enterprise: Enterprise, user_id: int | None
) -> tuple[list[int], list[dict[str, Any]]]:
    """Related enterprises the user may ask about (ids), and the others (with the reason)."""
    related = await related_enterprises(enterprise)
    allowed: set[int] = set()
    if user_id is not None:
        bindings = await Binding.filter(
            user_id=user_id, enterprise_id__in=[e.id for e, _ in related]
        )
        allowed = {b.enterprise_id for b in bindings if binding_allows(b, "reports")}
    reason = NOT_AUTHORISED_RELATED if user_id is not None else WINDOW_RELATED
    excluded = [
        {**_enterprise_ref(e), "relation": kind.label, "reason": reason}
        for e, kind in related
        if e.id not in allowed
    ]
    return sorted(allowed), excluded


async def related_preview(user_id: int, uscc: str) -> dict[str, Any]:
    """Before asking: the related enterprises a report would cover, and the others with why."""
    enterprise = await _enterprise_for(user_id, uscc)
    related = await related_enterprises(enterprise)
    allowed, excluded = await _split_related(enterprise, user_id)
    included = [{**_enterprise_ref(e), "relation": kind.label}
                for e, kind in related if e.id in allowed]  # fmt: skip
    return {"enterprise": _enterprise_ref(enterprise), "included": included, "excluded": excluded}


async def _enterprise_for(user_id: int, uscc: str) -> Enterprise:
    """The enterprise the user asks about, if they hold the reports scope for it."""
    enterprise = await Enterprise.get_or_none(uscc=normalise_uscc(uscc))
    if enterprise is None:  # answered like a lacking authorisation: nothing to enumerate
        raise Forbidden("您未获得该企业的相应授权", code="not_authorised")
    await require_scope(user_id, enterprise.id, "reports")
    return enterprise


async def request_report(
    redis: Redis,
    actor: Actor,
    ask: ReportAsk,
    channel: str,
    *,
    consent: Any = None,
    client_ip: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """A report asked for through any channel, audited with that channel: by a user with the
    reports scope for the enterprise, or by a window operator once the enterprise's consent
    checks out. The pending report's id and number, and the related enterprises left out."""
    if actor.operator is not None:
        enterprise = await window_consent(redis, actor.operator, consent, ask.uscc, client_ip)
    elif actor.user_id is not None:
        enterprise = await _enterprise_for(actor.user_id, ask.uscc)
    else:
        raise Forbidden("您未获得该企业的相应授权", code="not_authorised")
    related_ids, excluded = (
        await _split_related(enterprise, actor.user_id) if ask.related else ([], [])
    )
    operator = actor.operator
    report = await issuing.request_report(
        redis,
        ReportRequest(
            uscc=enterprise.uscc,
            domains=ask.domains,
            start=ask.start,
            end=ask.end,
            purpose=ask.purpose,
            channel=channel,
            related=related_ids,
            requester_id=actor.user_id,
            operator=operator.name if operator else None,
            applicant=operator.display if operator else None,
        ),
        today=today,
    )
    await append_audit(
        actor.name,
        "report.requested",
        "report",
        report.number,
        {
            "channel": channel,
            "uscc": enterprise.uscc,
            "related": related_ids,
            "excluded": [e["uscc"] for e in excluded],
        },
    )
    return {
        "id": report.id,
        "report_no": report.number,
        "status": report.status.value,
        "excluded": excluded,
    }


def describe_report(
    settings: Settings, report: Report, enterprise: Enterprise, related: list[Enterprise]
) -> dict[str, Any]:
    """A report's status and, once ready, its signed links and verify URL."""
    status = ReportStatus(report.status)
    view: dict[str, Any] = {
        "id": report.id,
        "report_no": report.number,
        "status": status.value,
        "status_label": status.label,
        "enterprise": _enterprise_ref(enterprise),
        "related": [_enterprise_ref(e) for e in related],
        "domains": report.domains,
        "from": report.span_from.isoformat(),
        "to": report.span_to.isoformat(),
        "purpose": str(report.purpose),
        "channel": str(report.channel),
        "created_at": report.created_at.isoformat(),
        "ready_at": report.ready_at.isoformat() if report.ready_at else None,
    }
    # The card is stored before the sealed PDF: a link is given only for a file that is there.
    parts = view["parts"] = parts_ready(report)
    if parts["card"]:
        view["png_url"] = signed_download_url(settings, report, "png")
        view["verify_url"] = verify_url(settings, report)
        view["verify_code"] = report.verify_code
    if parts["pdf"]:
        view["pdf_url"] = signed_download_url(settings, report, "pdf")
    if status == ReportStatus.FAILED:
        view["failure"] = "报告生成失败，请重新申请；如多次失败请联系客服"
    return view


async def _report_with_enterprise(report_id: int) -> Report:
    report = await Report.filter(id=report_id).select_related("enterprise").first()
    if report is None:
        raise NotFound("未找到该报告", code="report_not_found")
    return report


async def _describe(settings: Settings, report: Report) -> dict[str, Any]:
    enterprise = report.enterprise
    related = []
    if report.related_enterprise_ids:
        related = await Enterprise.filter(id__in=report.related_enterprise_ids).order_by("uscc")
    return describe_report(settings, report, enterprise, list(related))


# Status polling is the hot path: one hand-written query fetches the report, its enterprise and
# the caller's binding to it (the ORM's query building cost more than the query itself).
_REPORT_COLUMNS = ("id", "number", "verify_code", "related_enterprise_ids", "domains", "span_from",
                   "span_to", "purpose", "channel", "operator", "status", "created_at",
                   "ready_at", "png_path", "pdf_path")  # fmt: skip
_BINDING_COLUMNS = ("id", "role", "scopes", "expires_at", "revoked_at")


def _status_query(dialect: str) -> str:
    user, report = ("$1", "$2") if dialect == "postgres" else ("?", "?")
    columns = ", ".join(
        [f'r."{c}" AS "r_{c}"' for c in _REPORT_COLUMNS]
        + [f'b."{c}" AS "b_{c}"' for c in _BINDING_COLUMNS]
        + [
            'r."enterprise_id" AS "r_enterprise_id"',
            'r."requester_id" AS "r_requester_id"',
            'e."uscc" AS "e_uscc"',
            'e."name" AS "e_name"',
        ]
    )
    return (
        f'SELECT {columns} FROM "report" r JOIN "enterprise" e ON e."id" = r."enterprise_id" '
        f'LEFT JOIN "binding" b ON b."enterprise_id" = r."enterprise_id" AND b."user_id" = {user} '
        f'WHERE r."id" = {report}'
    )


async def _status_row(user_id: int, report_id: int) -> Mapping[str, Any] | None:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        # Straight to the pooled asyncpg connection, as one cached statement: the ORM's wrapper
        # around the query cost as much as the query.
        async with conn.acquire_connection() as pg:
            row: Mapping[str, Any] | None = await pg.fetchrow(_POSTGRES_STATUS_QUERY, user_id,
                                                              report_id)  # fmt: skip
            return row
    _, rows = await conn.execute_query(_status_query("sqlite"), [user_id, report_id])
    return dict(rows[0]) if rows else None


_POSTGRES_STATUS_QUERY = _status_query("postgres")


def _loaded(model: type[M], row: Mapping[str, Any], prefix: str, columns: tuple[str, ...],
            **known: Any) -> M:  # fmt: skip
    """A read-only instance of `model` from the row's columns, converted as the ORM converts
    what it loads (its loader skips the checks a new instance goes through: 4x faster)."""
    values = {c: row[prefix + c] for c in columns}
    return model._init_from_db(**values, **known)  # type: ignore[attr-defined,no-any-return]


async def report_for_user(settings: Settings, user_id: int, report_id: int) -> dict[str, Any]:
    """A report the user may see (services.access.may_see_report). Someone with no reports scope
    on its enterprise gets 404, the same answer as for a missing report, so that report ids reveal
    nothing of other enterprises; an agent of the enterprise who lacks a related one gets 403."""
    row = await _status_row(user_id, report_id)
    if row is None:
        raise NotFound("未找到该报告", code="report_not_found")
    known = {}
    enterprise_id = row["r_enterprise_id"]
    if row["b_id"] is not None:
        known[enterprise_id] = _loaded(Binding, row, "b_", _BINDING_COLUMNS, user_id=user_id,
                                       enterprise_id=enterprise_id)  # fmt: skip
    report = _loaded(Report, row, "r_", _REPORT_COLUMNS, enterprise_id=enterprise_id)
    main = known.get(report.enterprise_id)
    stranger = main is None or not binding_allows(main, "reports")
    if row["r_requester_id"] != user_id and stranger:
        raise NotFound("未找到该报告", code="report_not_found")
    ids = report_enterprise_ids(report.enterprise_id, report.related_enterprise_ids)
    await require_report_access(user_id, row["r_requester_id"], ids, known)
    enterprise = _loaded(Enterprise, row, "e_", ("uscc", "name"), id=enterprise_id)
    related = []
    if report.related_enterprise_ids:
        related = await Enterprise.filter(id__in=report.related_enterprise_ids).order_by("uscc")
    return describe_report(settings, report, enterprise, list(related))


async def report_for_operator(
    settings: Settings, operator: Operator, report_id: int
) -> dict[str, Any]:
    """A report this operator asked for; 404 for another window's, as for a missing one."""
    report = await _report_with_enterprise(report_id)
    if report.operator != operator.name or str(report.channel) != str(operator.channel):
        raise NotFound("未找到该报告", code="report_not_found")
    return await _describe(settings, report)


def _whole(value: Any, default: int) -> int:
    # Digits only: int() would also take " 5", "+5", "1_0" and "٥", which are no page numbers.
    if value is None:
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidRequest("分页参数应为正整数", code="invalid_page")


def page_params(page: Any, page_size: Any) -> tuple[int, int]:
    """Page and size, absent ones defaulted; an empty ?page= is not a number, so it is refused."""
    p, size = _whole(page, 1), _whole(page_size, 20)
    if not 1 <= p <= MAX_PAGE or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"分页参数有误：页码从1开始，每页1至{MAX_PAGE_SIZE}条",
                             code="invalid_page")  # fmt: skip
    return p, size


async def history_for_user(
    settings: Settings, user_id: int, uscc: str | None, page: int, page_size: int,
    status: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The user's own requests, newest first, for the enterprises they still may ask about;
    optionally only those in one status. An empty uscc is refused, not read as "all"."""
    if uscc is not None:
        enterprise_ids = [(await _enterprise_for(user_id, uscc)).id]
    else:
        bindings = await Binding.filter(user_id=user_id)
        enterprise_ids = [b.enterprise_id for b in bindings if binding_allows(b, "reports")]
        if not enterprise_ids:
            raise Forbidden("您尚未获得任何企业的报告授权，请先绑定企业", code="not_authorised")
    query = Report.filter(requester_id=user_id, enterprise_id__in=enterprise_ids)
    if status:
        if status not in ReportStatus._value2member_map_:
            raise InvalidRequest("未知的报告状态", code="invalid_status", field="status")
        query = query.filter(status=status)
    total = await query.count()
    rows = await query.order_by("-id").offset((page - 1) * page_size).limit(page_size)
    enterprises = {e.id: e for e in await Enterprise.filter(id__in=enterprise_ids)}
    items = [
        {k: v for k, v in describe_report(settings, r, enterprises[r.enterprise_id], []).items()
         if k not in ("related",)}
        for r in rows
    ]  # fmt: skip
    return {"items": items, "page": page, "page_size": page_size, "total": total}


def report_options() -> dict[str, Any]:
    """Everything a client needs for its report picker: the 40 domains, dates and purposes."""
    return {
        "domains": [
            {
                "number": d.number,
                "name": d.name,
                "check_text": d.check_text,
                "checks_arrears": d.checks_arrears,
                "departments": [
                    {"code": c, "name": DEPARTMENTS_BY_CODE[c].name} for c in d.department_codes
                ],
            }
            for d in DOMAINS
        ],
        "earliest_date": EARLIEST_DATE.isoformat(),
        "default_span_years": DEFAULT_YEARS,
        "purposes": [{"value": value, "label": label} for value, label in PURPOSE_CHOICES],
    }
