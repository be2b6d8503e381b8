"""Rollout statistics: /ops/api/stats (JSON) and /ops/stats (SVG charts), ops staff only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from models.catalogue import Department
from models.enums import Channel, ObjectionKind, ObjectionStatus, ReportPurpose, ReportStatus
from models.objection import Objection
from models.report import Report
from services.stats.rollout import rollout_stats
from services.stats.rollout_breakdown import breakdown
from tests.staff_support import ops_headers
from tests.test_objection_support import enterprise


@pytest.fixture
async def ops(cli: TestClient) -> dict[str, str]:
    """The client signed in as an ops person; the CSRF header its API calls carry."""
    return await ops_headers(cli)


TODAY = date(2026, 3, 10)


async def a_report(ent, n: int, ready: datetime | None, domains, channel, purpose, **kw):  # type: ignore[no-untyped-def]
    return await Report.create(
        number=f"YX20260310{n:06d}", verify_code="ABCDEFGH", enterprise=ent, domains=domains,
        span_from=date(2023, 1, 1), span_to=date(2026, 1, 1), purpose=purpose, channel=channel,
        status=ReportStatus.READY if ready else ReportStatus.PENDING, ready_at=ready, **kw,
    )  # fmt: skip


async def a_ticket(ent, n: int, kind, status, department: str, *, hours=None, accept_due=TODAY):  # type: ignore[no-untyped-def]
    created = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    return await Objection.create(
        ticket_no=f"YY20260302{n:06d}", query_code="ABC234", enterprise=ent, kind=kind,
        text="异议", status=status, department=await Department.get(code=department),
        accept_due=accept_due, resolve_due=accept_due + timedelta(days=7), created_at=created,
        resolved_at=created + timedelta(hours=hours) if hours is not None else None, domain_id=27,
    )  # fmt: skip


async def seed() -> None:
    ent = await enterprise()
    # 23:30 UTC on 8 March is 9 March in Beijing.
    await a_report(ent, 1, datetime(2026, 3, 8, 23, 30, tzinfo=UTC), [1, 27], Channel.MINIPROGRAM,
                   ReportPurpose.LISTING)  # fmt: skip
    await a_report(ent, 2, datetime(2026, 3, 9, 2, 0, tzinfo=UTC), [27], Channel.HALL,
                   ReportPurpose.BOND, operator="渝中区政务服务中心-3号窗口")  # fmt: skip
    await a_report(ent, 3, datetime(2026, 3, 10, 2, 0, tzinfo=UTC), list(range(1, 41)),
                   Channel.MINIPROGRAM, ReportPurpose.LISTING)  # fmt: skip
    await a_report(ent, 4, None, [5], Channel.BOT, ReportPurpose.MERGER)  # not issued: not counted
    C, R = ObjectionKind.CORRECTION, ObjectionKind.REPAIR
    await a_ticket(ent, 1, C, ObjectionStatus.RESOLVED, "samr", hours=10)
    await a_ticket(ent, 2, C, ObjectionStatus.CLOSED, "samr", hours=30)
    await a_ticket(ent, 3, R, ObjectionStatus.RESOLVED, "tax", hours=50)
    await a_ticket(ent, 4, R, ObjectionStatus.SUBMITTED, "tax", accept_due=date(2026, 3, 9))  # late
    await a_ticket(ent, 5, C, ObjectionStatus.SUBMITTED, "samr", accept_due=TODAY)  # due today
    await a_ticket(
        ent, 6, C, ObjectionStatus.SUBMITTED, "samr", accept_due=date(2026, 3, 6)
    )  # late


def by_code(items, code):  # type: ignore[no-untyped-def]
    return next(i["count"] for i in items if i.get("code", i.get("number")) == code)


async def test_the_figures_count_issued_reports_domains_and_objections(db):
    await seed()
    stats = await rollout_stats(today=TODAY, days=3)
    reports = stats["reports"]
    assert reports["total"] == 3
    assert reports["per_day"] == [
        {"date": "2026-03-08", "count": 0},
        {"date": "2026-03-09", "count": 2},
        {"date": "2026-03-10", "count": 1},
    ]
    assert by_code(reports["by_channel"], "miniprogram") == 2
    assert (
        by_code(reports["by_channel"], "hall") == 1 and by_code(reports["by_channel"], "bot") == 0
    )
    assert (
        by_code(reports["by_purpose"], "listing") == 2
        and by_code(reports["by_purpose"], "bond") == 1
    )
    assert by_code(reports["by_domain"], 27) == 3 and by_code(reports["by_domain"], 5) == 1
    assert stats["certificates_replaced"] == 2 + 1 + 40
    objections = stats["objections"]
    assert objections["total"] == 6
    assert by_code(objections["by_kind"], "correction") == 4
    assert by_code(objections["by_status"], "submitted") == 3
    assert objections["by_kind_and_status"]["repair"] == {"resolved": 1, "submitted": 1}
    assert objections["median_hours_to_resolve"] == 30.0
    assert objections["median_hours_to_resolve_by_kind"] == {
        "correction": 20.0, "update": None, "repair": 50.0, "detail": None,
    }  # fmt: skip
    assert stats["overdue_by_department"] == [
        {"code": "samr", "name": "市市场监管局", "count": 1},
        {"code": "tax", "name": "重庆市税务局", "count": 1},
    ]


async def test_the_json_and_the_page_need_an_ops_person_signed_in(cli):
    await seed()
    resp = await cli.get("/ops/api/stats")
    assert resp.status == 401 and (await resp.json())["code"] == "staff_session_required"
    resp = await cli.get("/ops/api/stats", headers={"Authorization": "Bearer test-ops-token"})
    assert resp.status == 401
    page = await cli.get("/ops/stats", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/staff/login?next=/ops/stats"
    ops = await ops_headers(cli)
    resp = await cli.get("/ops/api/stats?days=7", headers=ops)
    body = await resp.json()
    assert resp.status == 200 and len(body["reports"]["per_day"]) == 7
    assert body["certificates_replaced"] == 43
    assert (await cli.get("/ops/api/stats?days=0", headers=ops)).status == 400


async def test_the_page_draws_its_charts_as_inline_svg(cli, ops: dict[str, str]):
    await seed()
    resp = await cli.get("/ops/stats", headers=ops)
    html = await resp.text()
    assert resp.status == 200 and "推行情况统计" in html
    # Drawn on the server; nothing fetched from elsewhere (no CDN is reachable).
    assert html.count("<svg") == 9 and "<script" not in html and "://" not in html
    assert "渝中区政务服务中心-3号窗口" in html and "替代证明：按企业" in html
    assert "渝快办小程序" in html and "重庆市税务局" in html  # a channel bar, an overdue bar
    ops_page = await (await cli.get("/ops", headers=ops)).text()
    assert 'href="/ops/stats"' in ops_page


async def test_reports_are_counted_by_district_window_and_enterprise(db):
    await seed()
    more = await breakdown()
    assert more["by_district"] == [{"code": "500103", "name": "渝中区", "count": 3}]
    window = {"channel": "政务服务大厅窗口", "window": "渝中区政务服务中心-3号窗口", "count": 1}
    assert more["by_window"] == [window]
    [only] = more["certificates_by_enterprise"]
    assert more["enterprises"] == 1 and only["count"] == 43


async def test_each_table_exports_as_csv_with_formulas_neutralised(cli, ops: dict[str, str]):
    await seed()
    sly = await enterprise(2)
    sly.name = '=HYPERLINK("http://evil.example","点此")'
    await sly.save()
    await a_report(sly, 9, datetime(2026, 3, 10, 3, 0, tzinfo=UTC), [27], Channel.WEB,
                   ReportPurpose.LISTING)  # fmt: skip
    r = await cli.get("/ops/stats.csv?table=enterprise")
    assert r.status == 200 and r.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert rows[0] == ["统一社会信用代码", "企业名称", "替代证明数"]
    assert ["'" + sly.name] == [row[1] for row in rows if "HYPERLINK" in row[1]]
    for table in ("district", "channel", "window", "purpose", "domain"):
        assert (await cli.get(f"/ops/stats.csv?table={table}")).status == 200, table
    r = await cli.get("/ops/stats.csv?table=nope")
    assert r.status == 400 and (await r.json())["code"] == "unknown_table"
