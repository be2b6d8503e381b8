"""Figures for tracking the rollout (推行情况): reports, certificates replaced, objections.

- reports issued (ready) per day over the last `days` days, and by channel, purpose and domain;
- certificates replaced: one per domain covered by an issued report (each domain's report line
  stands in for one 无违法违规证明 the enterprise no longer has to collect);
- objections by kind and by status, and the median time from submission to resolution;
- tickets overdue now, per department.

Days are Beijing dates. The rows are read as plain tuples (no model objects) and counted here:
a report's domains are a JSON list, which neither backend groups by portably.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from config import clock
from config.calendar import CHINA
from config.catalogue import DEPARTMENTS, DOMAINS_BY_NUMBER
from models.enums import Channel, ObjectionKind, ObjectionStatus, ReportPurpose, ReportStatus
from models.objection import Objection
from models.report import Report
from services.objections.due import OPEN_STATUSES

DEFAULT_DAYS = 30


def _day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _labelled(enum: Any, counts: Counter[str]) -> list[dict[str, Any]]:
    return [{"code": m.value, "label": m.label, "count": counts.get(m.value, 0)} for m in enum]


def _median_hours(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 3600, 1)


async def report_figures(today: date, days: int) -> dict[str, Any]:
    rows = await Report.filter(status=ReportStatus.READY).values_list(
        "ready_at", "channel", "purpose", "domains"
    )
    per_day: Counter[date] = Counter()
    channels: Counter[str] = Counter()
    purposes: Counter[str] = Counter()
    domains: Counter[int] = Counter()
    for ready_at, channel, purpose, numbers in rows:
        if ready_at is not None:
            per_day[_day(ready_at)] += 1
        channels[str(channel)] += 1
        purposes[str(purpose)] += 1
        domains.update(int(n) for n in numbers or [])
    first = today - timedelta(days=days - 1)
    return {
        "total": len(rows),
        "per_day": [
            {
                "date": (first + timedelta(days=i)).isoformat(),
                "count": per_day[first + timedelta(days=i)],
            }
            for i in range(days)
        ],
        "by_channel": _labelled(Channel, channels),
        "by_purpose": _labelled(ReportPurpose, purposes),
        "by_domain": [
            {"number": n, "name": spec.name, "count": domains.get(n, 0)}
            for n, spec in sorted(DOMAINS_BY_NUMBER.items())
        ],
        # One certificate per domain per issued report.
        "certificates_replaced": sum(domains.values()),
    }


async def objection_figures(today: date) -> dict[str, Any]:
    rows = await Objection.all().values_list(
        "kind", "status", "created_at", "resolved_at", "accept_due", "resolve_due",
        "department__code",
    )  # fmt: skip
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    matrix: dict[str, Counter[str]] = {k.value: Counter() for k in ObjectionKind}
    spans: dict[str, list[timedelta]] = {k.value: [] for k in ObjectionKind}
    overdue: Counter[str] = Counter()
    for kind, status, created, resolved, accept_due, resolve_due, department in rows:
        kind, status = str(kind), str(status)
        kinds[kind] += 1
        statuses[status] += 1
        matrix[kind][status] += 1
        if resolved is not None:
            spans[kind].append(resolved - created)
        if status in OPEN_STATUSES:
            due = accept_due if status == ObjectionStatus.SUBMITTED else resolve_due
            if today > due:
                overdue[department] += 1
    everything = [s for kind_spans in spans.values() for s in kind_spans]
    return {
        "objections": {
            "total": len(rows),
            "by_kind": _labelled(ObjectionKind, kinds),
            "by_status": _labelled(ObjectionStatus, statuses),
            "by_kind_and_status": {k: dict(c) for k, c in matrix.items()},
            "median_hours_to_resolve": _median_hours(everything),
            "median_hours_to_resolve_by_kind": {k: _median_hours(v) for k, v in spans.items()},
        },
        "overdue_by_department": [
            {"code": d.code, "name": d.name, "count": overdue[d.code]}
            for d in DEPARTMENTS
            if overdue[d.code]
        ],
    }


async def rollout_stats(today: date | None = None, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """Every figure of the stats page, as JSON-ready values."""
    now = clock.utc_now()
    today = today or _day(now)
    reports = await report_figures(today, days)
    objections = await objection_figures(today)
    return {
        "generated_at": now.astimezone(CHINA).isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "days": days,
        "certificates_replaced": reports.pop("certificates_replaced"),
        "reports": reports,
        **objections,
    }
