"""Rollout statistics for ops: /ops/stats (a page with server-rendered SVG charts, no script or
CDN), /ops/api/stats (the same figures as JSON) and /ops/stats.csv?table= (one table as CSV).
Ops staff only, as for /ops."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from handlers.json_api import ok
from handlers.staff.session import require_staff, staff_page
from handlers.templates_env import render_page
from models.staff import StaffRole
from services.accounts.staff import StaffIdentity
from services.errors import InvalidRequest
from services.stats.rollout import DEFAULT_DAYS, rollout_stats
from services.stats.rollout_breakdown import CSV_TABLES, breakdown, csv_rows

MAX_DAYS = 366
CHART_WIDTH = 720


def _days(request: web.Request) -> int:
    raw = request.query.get("days", "") or str(DEFAULT_DAYS)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidRequest(f"days 应为 1 至 {MAX_DAYS} 的整数", code="invalid_days")
    return int(raw)


def bar_rows(
    items: list[tuple[str, float]], label_width: int = 190, row: int = 22
) -> dict[str, Any]:
    """A horizontal bar chart's geometry: one row per item, bars scaled to the largest."""
    room = CHART_WIDTH - label_width - 70
    top = max((v for _, v in items), default=0) or 1
    return {
        "width": CHART_WIDTH,
        "height": max(row * len(items), row),
        "label_width": label_width,
        "row": row,
        "bars": [
            {"label": label, "value": value, "y": i * row, "w": round(room * value / top, 1)}
            for i, (label, value) in enumerate(items)
        ],
    }


def columns(items: list[tuple[str, float]], height: int = 180) -> dict[str, Any]:
    """A column chart's geometry (per day): columns scaled to the largest, labels every 5th."""
    slot = CHART_WIDTH / max(len(items), 1)
    plot = height - 34
    top = max((v for _, v in items), default=0) or 1
    return {
        "width": CHART_WIDTH,
        "height": height,
        "plot": plot,
        "bars": [
            {
                "label": label if i % 5 == 0 or i == len(items) - 1 else "",
                "value": value,
                "x": round(i * slot + slot * 0.15, 1),
                "w": round(slot * 0.7, 1),
                "h": round(plot * value / top, 1),
            }
            for i, (label, value) in enumerate(items)
        ],
    }


def charts(stats: dict[str, Any]) -> dict[str, Any]:
    reports, objections, more = stats["reports"], stats["objections"], stats["breakdown"]
    return {
        "per_day": columns([(d["date"][5:], d["count"]) for d in reports["per_day"]]),
        "by_channel": bar_rows([(c["label"], c["count"]) for c in reports["by_channel"]]),
        "by_purpose": bar_rows([(c["label"], c["count"]) for c in reports["by_purpose"]]),
        "by_domain": bar_rows(
            [(f"{d['number']} {d['name']}", d["count"]) for d in reports["by_domain"]], row=18
        ),
        "objections_by_kind": bar_rows([(c["label"], c["count"]) for c in objections["by_kind"]]),
        "objections_by_status": bar_rows(
            [(c["label"], c["count"]) for c in objections["by_status"]]
        ),
        "overdue": bar_rows([(d["name"], d["count"]) for d in stats["overdue_by_department"]]),
        "by_district": bar_rows([(d["name"], d["count"]) for d in more["by_district"]]),
        "by_window": bar_rows([(w["window"], w["count"]) for w in more["by_window"]], 260),
    }


async def _stats(request: web.Request) -> dict[str, Any]:
    stats = await rollout_stats(days=_days(request))
    stats["breakdown"] = await breakdown()
    return stats


@staff_page(StaffRole.OPS)
async def stats_page(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    stats = await _stats(request)
    return render_page("ops_stats.html", stats=stats, charts=charts(stats), tables=CSV_TABLES)


async def api_stats(request: web.Request) -> web.Response:
    await require_staff(request, (StaffRole.OPS,))
    return ok(await _stats(request))


async def stats_csv(request: web.Request) -> web.Response:
    """One table of the figures as CSV (UTF-8 with a BOM, for Excel)."""
    await require_staff(request, (StaffRole.OPS,))
    table = request.query.get("table", "")
    if table not in CSV_TABLES:
        raise InvalidRequest(f"table 应为：{'、'.join(CSV_TABLES)}", code="unknown_table")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(table, await _stats(request)))
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode(), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="rollout-{table}.csv"'},
    )  # fmt: skip


def setup(app: web.Application) -> None:
    app.router.add_get("/ops/stats", stats_page)
    app.router.add_get("/ops/stats.csv", stats_csv)
    app.router.add_get("/ops/api/stats", api_stats)
