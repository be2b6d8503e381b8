"""Freshness and quality of each department's data (数据质量): last push, records, the share
pushed late under the 7-working-day rule by month, rejection rates by reason, and each domain's
"data as of" date that reports print."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from tortoise import connections

from config.calendar import ESTIMATED_MARK, WorkingDayCalendar, calendar_for
from config.catalogue import DOMAINS_BY_NUMBER
from models.catalogue import Department
from models.ingest_batch import IngestBatch
from services.ingest.push import CHINA
from services.ingest.validate import REJECTION_CODES

# 89号 三、（一）: the records since 2020 are "于 2024 年 12 月 1 日前推送", and from then on
# "新发生的信息在 7 个工作日内完成更新推送". A record decided before the rule took effect is a
# backfill (历史信息补录): reported as such, never as late.
LATE_AFTER_WORKING_DAYS = 7
SEVEN_DAY_RULE_FROM = date(2024, 12, 1)


@dataclass
class MonthFigures:
    month: str  # YYYY-MM of the decision date
    records: int = 0
    late: int = 0
    estimated: bool = False  # some due dates rest on an estimated holiday calendar (预计)

    @property
    def late_share(self) -> float:
        return self.late / self.records if self.records else 0.0


@dataclass
class ChangeFigures:
    """Changes to records (a later version), each timed from its own status date."""

    measured: int = 0
    late: int = 0
    backfill: int = 0  # took effect before the rule did
    undated: int = 0  # no status date of its own: cannot be timed

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": f"状态变更（修复、撤销等）自生效之日起 {LATE_AFTER_WORKING_DAYS} 个工作日内"
            "推送",
            "measured": self.measured,
            "late": self.late,
            "share": round(self.late / self.measured, 4) if self.measured else 0.0,
            "backfill": self.backfill,
            "undated": self.undated,
        }


@dataclass
class DepartmentQuality:
    """One department's figures; rates are shares between 0 and 1."""

    code: str
    name: str
    last_push: datetime | None = None
    records: int = 0
    measured: int = 0  # decided once the 7-working-day rule applied
    late: int = 0
    backfill: int = 0  # decided before the rule took effect: not measured
    by_month: list[MonthFigures] = field(default_factory=list)
    changes: ChangeFigures = field(default_factory=ChangeFigures)
    batches: int = 0
    rows_received: int = 0
    rows_rejected: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    refused_batches: Counter[str] = field(default_factory=Counter)  # by refusal code

    @property
    def late_share(self) -> float:
        return self.late / self.measured if self.measured else 0.0

    @property
    def estimated(self) -> bool:
        """Whether some due dates rest on an estimated holiday calendar."""
        return any(m.estimated for m in self.by_month)

    @property
    def late_share_text(self) -> str:
        if not self.measured:
            return "-"
        return f"{self.late_share:.1%}" + (f"（{ESTIMATED_MARK}）" if self.estimated else "")

    @property
    def rejection_rate(self) -> float:
        return self.rows_rejected / self.rows_received if self.rows_received else 0.0

    def to_dict(self) -> dict[str, Any]:
        received = self.rows_received
        return {
            "department": {"code": self.code, "name": self.name},
            "last_push": self.last_push.astimezone(CHINA).isoformat() if self.last_push else None,
            "records": self.records,
            "late": {
                "rule": f"决定作出后 {LATE_AFTER_WORKING_DAYS} 个工作日内推送",
                "from": SEVEN_DAY_RULE_FROM.isoformat(),
                "measured": self.measured,
                "records": self.late,
                "share": round(self.late_share, 4),
                "by_month": [
                    {
                        "month": m.month,
                        "records": m.records,
                        "late": m.late,
                        "share": round(m.late_share, 4),
                        **({"calendar": ESTIMATED_MARK} if m.estimated else {}),
                    }
                    for m in self.by_month
                ],
            },
            "backfill": {
                "records": self.backfill,
                "label": f"历史信息补录（决定日期早于{SEVEN_DAY_RULE_FROM.year}年"
                f"{SEVEN_DAY_RULE_FROM.month}月{SEVEN_DAY_RULE_FROM.day}日），不计入推送及时率",
            },
            "changes": self.changes.to_dict(),
            "batches": self.batches,
            "rows_received": received,
            "rows_rejected": self.rows_rejected,
            "rejection_rate": round(self.rejection_rate, 4),
            "rejections": [
                {
                    "code": code,
                    "label": REJECTION_CODES.get(code, code),
                    "count": count,
                    "rate": round(count / received, 4) if received else 0.0,
                }
                for code, count in self.rejections.most_common()
            ],
            "refused_batches": dict(self.refused_batches),
        }


async def department_quality(
    code: str, calendar: WorkingDayCalendar | None = None
) -> DepartmentQuality:
    """The figures of one department (by code)."""
    return (await _quality(calendar or calendar_for(), only=code))[0]


async def all_departments_quality(
    calendar: WorkingDayCalendar | None = None,
) -> list[DepartmentQuality]:
    """The figures of every department, in catalogue order."""
    return await _quality(calendar or calendar_for(), only=None)


async def last_pushes() -> dict[str, datetime]:
    """Each department's last push, by code.

    A push counts when its batch completed and either accepted at least one row or was empty
    on purpose (a department with nothing new pushes an empty batch to say its data is
    current). Records loaded outside ingestion (the demo seed) count by their pushed_at.
    """
    codes = dict(await Department.all().values_list("id", "code"))
    out: dict[str, datetime] = {}
    conn = connections.get("default")
    # SQLite keeps datetimes as text with whatever offset they were written with: datetime()
    # turns each into UTC before they are compared.
    postgres = conn.capabilities.dialect == "postgres"
    finished, pushed = (
        ('"finished_at"', '"pushed_at"')
        if postgres
        else ('datetime("finished_at")', 'datetime("pushed_at")')
    )
    _, batches = await conn.execute_query(
        f'SELECT "department_id", MAX({finished}) FROM "ingest_batch"'
        " WHERE \"status\" = 'done'"
        ' AND ("created" + "updated" + "unchanged" > 0 OR "rows_received" = 0)'
        ' GROUP BY "department_id"'
    )
    _, records = await conn.execute_query(
        f'SELECT "department_id", MAX({pushed}) FROM "record" GROUP BY "department_id"'
    )
    for row in [*batches, *records]:
        department_id, moment = tuple(row)
        if moment is not None:
            _keep_latest(out, codes[department_id], _as_datetime(moment))
    return out


async def data_as_of(domain_number: int) -> date | None:
    """The date (Beijing) up to which a domain's data is known complete, for reports.

    It is the earliest of the last pushes of the domain's departments: where two departments
    feed one domain (e.g. 药品监管: 市药监局 and 市市场监管局), the data are complete only up to
    the one that pushed longest ago. None when one of them has never pushed.
    """
    return (await data_as_of_all()).get(domain_number)


async def data_as_of_all() -> dict[int, date | None]:
    """data_as_of() for all 40 domains at once."""
    pushes = await last_pushes()
    out: dict[int, date | None] = {}
    for number, domain in DOMAINS_BY_NUMBER.items():
        times = [pushes.get(code) for code in domain.department_codes]
        out[number] = (
            None if any(t is None for t in times) else min(times).astimezone(CHINA).date()  # type: ignore[type-var, union-attr]
        )
    return out


async def _quality(calendar: WorkingDayCalendar, only: str | None) -> list[DepartmentQuality]:
    departments = Department.all().order_by("id")
    if only:
        departments = departments.filter(code=only)
    figures = {d.id: DepartmentQuality(d.code, d.name) for d in await departments}
    pushes = await last_pushes()
    for q in figures.values():
        q.last_push = pushes.get(q.code)
    await _lateness(calendar, figures, only)
    await _change_lateness(calendar, figures, only)
    await _rejections(figures)
    return list(figures.values())


async def _lateness(
    calendar: WorkingDayCalendar, figures: dict[int, DepartmentQuality], only: str | None
) -> None:
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    # Grouped by (decision date, day pushed in Beijing): far fewer pairs than records.
    pushed_day = (
        """("pushed_at" AT TIME ZONE 'Asia/Shanghai')::date"""
        if postgres
        else """date("pushed_at", '+8 hours')"""  # SQLite reads the stored UTC offset
    )
    where, params = "", []
    if only:
        (department_id,) = figures
        where, params = f'WHERE "department_id" = {"$1" if postgres else "?"}', [department_id]
    _, rows = await conn.execute_query(
        f'SELECT "department_id", "decision_date", {pushed_day}, COUNT(*) FROM "record" {where}'
        " GROUP BY 1, 2, 3",
        params,
    )
    deadline = lru_cache(maxsize=None)(
        lambda day: calendar.add_working_days(day, LATE_AFTER_WORKING_DAYS)
    )
    months: dict[int, dict[str, MonthFigures]] = defaultdict(dict)
    for row in rows:
        department_id, decided, pushed, count = tuple(row)
        decided, pushed = _as_date(decided), _as_date(pushed)
        q = figures[department_id]
        q.records += count
        if decided < SEVEN_DAY_RULE_FROM:
            q.backfill += count
            continue
        key = decided.strftime("%Y-%m")
        month = months[department_id].setdefault(key, MonthFigures(key))
        due = deadline(decided)
        late = pushed > due
        month.estimated = month.estimated or calendar.is_estimated(due)
        q.measured += count
        month.records += count
        if late:
            q.late += count
            month.late += count
    for department_id, by_month in months.items():
        figures[department_id].by_month = [by_month[k] for k in sorted(by_month)]


async def _change_lateness(
    calendar: WorkingDayCalendar, figures: dict[int, DepartmentQuality], only: str | None
) -> None:
    """Each change (version after the first) timed from the status date it brought: a repair
    or revocation is new information in its own right, whenever the decision was made."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    where, params = "", []
    if only:
        (department_id,) = figures
        where, params = f'AND r."department_id" = {"$1" if postgres else "?"}', [department_id]
    _, rows = await conn.execute_query(
        'SELECT r."department_id", v."record_id", v."content", v."recorded_at"'
        ' FROM "record_version" v JOIN "record" r ON r."id" = v."record_id"'
        ' WHERE v."record_id" IN (SELECT "record_id" FROM "record_version" WHERE "version" > 1)'
        f' {where} ORDER BY v."record_id", v."version"',
        params,
    )
    previous: tuple[int, str | None] | None = None  # (record id, its last status date)
    for row in rows:
        department_id, record_id, content, recorded_at = tuple(row)
        values = json.loads(content)
        status_date = values[11] if len(values) > 11 else None
        if previous is None or previous[0] != record_id:
            previous = (record_id, status_date)  # the first version: the record itself
            continue
        changes = figures[department_id].changes
        if status_date is None or status_date == previous[1]:
            changes.undated += 1
        elif (effective := date.fromisoformat(status_date)) < SEVEN_DAY_RULE_FROM:
            changes.backfill += 1
        else:
            changes.measured += 1
            pushed = _as_datetime(recorded_at).astimezone(CHINA).date()
            if pushed > calendar.add_working_days(effective, LATE_AFTER_WORKING_DAYS):
                changes.late += 1
        previous = (record_id, status_date)


async def _rejections(figures: dict[int, DepartmentQuality]) -> None:
    batches = IngestBatch.filter(department_id__in=list(figures))
    rows = await batches.values_list(
        "department_id", "status", "refusal_code", "rows_received", "rejected", "rejections_by_code"
    )
    for department_id, status, refusal, received, rejected, by_code in rows:
        q = figures[department_id]
        if status == "refused":
            q.refused_batches[refusal or "unknown"] += 1
            continue
        q.batches += 1
        q.rows_received += received
        q.rows_rejected += rejected
        q.rejections.update(by_code or {})


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_datetime(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _keep_latest(out: dict[str, datetime], code: str, moment: datetime) -> None:
    if code not in out or moment > out[code]:
        out[code] = moment
