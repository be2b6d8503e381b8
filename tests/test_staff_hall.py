"""The service-hall window (/hall/): a window operator finds a walk-in enterprise, records its
consent (the legal representative's ID number, or an agent's authorisation), issues the report
through the same rules as /api/hall, and records the hand-over; each hall sees only its own."""

from __future__ import annotations

from datetime import date

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from models.audit import AuditEntry
from models.report import Report
from models.staff import ReportHandover, StaffAccount
from services.reports.issuing import issue
from services.reports.signing import SnapshotSigner
from tests.bot_support import FAKE_RENDERER
from tests.staff_support import make_staff, sign_in
from tests.test_mp_support import ENTERPRISES, invite, make_enterprises, redeem, representative

USCC_A, NAME_A, _, ID_A = ENTERPRISES["A"]
COLLECTOR_ID = "500103199001011236"


async def window(
    cli: TestClient, hall: str = "渝中区政务服务中心", username: str = "win.one"
) -> str:
    """Sign a window operator of `hall` in; the page's CSRF token."""
    new = await make_staff(username, "window_operator", hall=hall, name="陈窗口")
    return (await sign_in(cli, new))["X-CSRF-Token"]


def form(csrf: str, **fields: str) -> dict[str, str]:
    base = {"csrf_token": csrf, "uscc": USCC_A, "consent": "legal_rep",
            "legal_rep_id_number": ID_A, "all_domains": "1", "purpose": "bond"}  # fmt: skip
    return {**base, **fields}


async def ready(settings: Settings, report_id: int) -> None:
    """Render the report at once (as a worker would), with a stand-in renderer."""

    async def no_dates(domains):  # type: ignore[no-untyped-def]
        return {d: date(2026, 11, 20) for d in domains}

    report = await Report.get(id=report_id)
    await issue(report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
                data_as_of=no_dates, renderer=FAKE_RENDERER)  # fmt: skip


async def test_a_window_operator_has_a_window_of_the_hall(db):
    new = await make_staff("win.one", "window_operator", hall="渝中区政务服务中心", name="陈窗口")
    account = await StaffAccount.get(id=new.identity.id).select_related("operator")
    assert account.operator.name == "渝中区政务服务中心-win_one"
    assert account.operator.display == "渝中区政务服务中心（陈窗口）"


async def test_an_enterprise_is_found_by_name_or_uscc(cli: TestClient):
    await make_enterprises()
    await window(cli)
    html = await (await cli.get("/hall/?q=甲科技")).text()
    assert NAME_A in html and f"/hall/issue?uscc={USCC_A}" in html
    html = await (await cli.get(f"/hall/?q={USCC_A.lower()}")).text()
    assert NAME_A in html and "重庆乙贸易" not in html


async def test_a_window_issues_a_report_with_the_legal_representatives_id_and_hands_it_over(
    cli: TestClient, settings: Settings
):
    await make_enterprises()
    csrf = await window(cli)
    r = await cli.post("/hall/issue", data=form(csrf), allow_redirects=False)
    assert r.status == 303, await r.text()
    report = await Report.get()
    assert r.headers["Location"] == f"/hall/reports/{report.id}"
    assert str(report.channel) == "hall" and report.operator == "渝中区政务服务中心-win_one"
    assert str(report.purpose) == "bond" and len(report.domains) == 40
    entry = await AuditEntry.get(action="staff.window.report_requested")
    assert entry.actor == "staff:win.one" and entry.detail["consent"] == "legal_representative"
    page = await (await cli.get(f"/hall/reports/{report.id}")).text()
    assert f'data-poll="/hall/reports/{report.id}/status"' in page and "登记交付" not in page
    status = await (await cli.get(f"/hall/reports/{report.id}/status")).json()
    assert status == {"status": "pending"}

    await ready(settings, report.id)
    page = await (await cli.get(f"/hall/reports/{report.id}")).text()
    assert "预览并打印（PDF，A4）" in page and "/r/" in page and "登记交付" in page
    handed_to = {"csrf_token": csrf, "collector": "孙领取", "collector_id": COLLECTOR_ID}
    r = await cli.post(f"/hall/reports/{report.id}/handover", data=handed_to,
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303
    handed = await ReportHandover.get(report_id=report.id)
    assert handed.collector_name == "孙领取" and COLLECTOR_ID not in handed.collector_id_hash
    assert len(handed.collector_id_hash) == 64
    assert "领取人 孙领取" in await (await cli.get(f"/hall/reports/{report.id}")).text()
    assert report.number in await (await cli.get("/hall/")).text()  # today's list


async def test_a_window_issues_a_report_for_an_agent_with_the_reports_scope(
    mp_cli: TestClient, fake_wechat
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    made = await invite(mp_cli, rep, "A")
    await redeem(mp_cli, await representative(mp_cli, fake_wechat, "B", "o_agent"), made["code"])
    csrf = await window(mp_cli)
    agent = form(csrf, consent="agent", legal_rep_id_number="", agent_name="赵六",
                 agent_phone="138 1234 5678")  # fmt: skip
    r = await mp_cli.post("/hall/issue", data=agent, allow_redirects=False)
    assert r.status == 303, await r.text()
    entry = await AuditEntry.get(action="staff.window.report_requested")
    assert entry.detail["consent"] == "agent"
    wrong = {**agent, "agent_phone": "13900000000"}
    r = await mp_cli.post("/hall/issue", data=wrong)
    assert r.status == 403 and "核验未通过" in await r.text() and "再错" in await r.text()


async def test_a_window_issues_a_report_on_an_agent_code(mp_cli: TestClient, fake_wechat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    made = await invite(mp_cli, rep, "A")
    csrf = await window(mp_cli)
    agent = form(csrf, consent="agent_code", legal_rep_id_number="", agent_code=made["code"])
    r = await mp_cli.post("/hall/issue", data=agent, allow_redirects=False)
    assert r.status == 303, await r.text()
    entry = await AuditEntry.get(action="staff.window.report_requested")
    assert entry.detail["consent"] == "agent_code" and made["code"] not in str(entry.detail)
    r = await mp_cli.post("/hall/issue", data={**agent, "agent_code": "ABCDEFGHJKLM"})
    assert r.status == 403 and "核验未通过" in await r.text() and "再错" in await r.text()


async def test_hall_x_cannot_read_hall_ys_reports(
    cli: TestClient, aiohttp_client, settings: Settings
):
    await make_enterprises()
    csrf = await window(cli, "渝中区政务服务中心", "win.x")
    assert (await cli.post("/hall/issue", data=form(csrf), allow_redirects=False)).status == 303
    report = await Report.get()
    other = await aiohttp_client(create_app(settings))
    await window(other, "江北区政务服务中心", "win.y")
    r = await other.get(f"/hall/reports/{report.id}")
    assert r.status == 404 and "未找到该报告" in await r.text()
    assert report.number not in await (await other.get("/hall/")).text()
    colleague = await aiohttp_client(create_app(settings))
    admin = await make_staff("admin.yz", "hall_admin", hall="渝中区政务服务中心", name="吴管理")
    admin_csrf = (await sign_in(colleague, admin))["X-CSRF-Token"]
    assert report.number in await (await colleague.get("/hall/")).text()
    assert (await colleague.get(f"/hall/reports/{report.id}")).status == 200
    r = await colleague.post("/hall/issue", data=form(admin_csrf))
    assert r.status == 403  # a hall admin sees the hall's reports but issues none


async def test_issuing_without_the_csrf_token_asks_for_nothing(cli: TestClient):
    await make_enterprises()
    await window(cli)
    r = await cli.post("/hall/issue", data={k: v for k, v in form("x").items()})
    assert r.status == 403 and "CSRF" in await r.text()
    assert await Report.all().count() == 0


@pytest.mark.parametrize("collector_id", ["", "12345", "50010319900101123"])
async def test_a_hand_over_needs_a_whole_id_number(
    cli: TestClient, settings: Settings, collector_id: str
):
    await make_enterprises()
    csrf = await window(cli)
    await cli.post("/hall/issue", data=form(csrf), allow_redirects=False)
    report = await Report.get()
    await ready(settings, report.id)
    handed_to = {"csrf_token": csrf, "collector": "孙领取", "collector_id": collector_id}
    r = await cli.post(f"/hall/reports/{report.id}/handover", data=handed_to)
    assert r.status == 400 and "18 位" in await r.text()
    assert not await ReportHandover.exists()


async def test_people_of_no_hall_are_refused_the_window(cli: TestClient, redis: Redis):
    await sign_in(cli, await make_staff())  # ops
    r = await cli.get("/hall/")
    assert r.status == 403 and "无权" in await r.text()
