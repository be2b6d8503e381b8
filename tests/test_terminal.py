"""The self-service terminal (/terminal/): a kiosk registered once with its terminal key, a
visit that asks for a report on the window's consent rules with channel `terminal`, and the
visit ending (and its traces going) after 60 idle seconds."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config import clock
from models.audit import AuditEntry
from models.enterprise import Enterprise
from models.report import Report
from services.accounts.bindings import create_agent_invite
from services.accounts.operators import create_operator
from services.reports.terminal import VISIT_IDLE_S
from tests.staff_support import hidden
from tests.test_mp_support import ENTERPRISES, make_enterprises
from tests.test_objection_support import bound_user

USCC_A, _, _, ID_A = ENTERPRISES["A"]


async def kiosk(cli: TestClient, name: str = "渝中区政务服务中心-自助1号") -> str:
    """Register the client as a terminal; the start page's CSRF token."""
    made = await create_operator(name, "terminal")
    r = await cli.post("/terminal/setup", data={"key": made.key}, allow_redirects=False)
    assert r.status == 303, await r.text()
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/terminal" in cookie
    return hidden(await (await cli.get("/terminal/")).text(), "csrf_token")


async def test_an_unregistered_browser_is_sent_to_the_setup(cli: TestClient):
    r = await cli.get("/terminal/", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/terminal/setup"
    hall = await create_operator("3号窗口", "hall")
    r = await cli.post("/terminal/setup", data={"key": hall.key})
    assert r.status == 403 and "该密钥不是自助终端的密钥" in await r.text()
    r = await cli.post("/terminal/setup", data={"key": "yc_op_wrong"})
    assert r.status == 403 and "操作员密钥无效" in await r.text()


async def test_a_visit_asks_for_a_report_recorded_as_the_terminals(cli: TestClient, redis: Redis):
    await make_enterprises()
    csrf = await kiosk(cli)
    page = await (await cli.get("/terminal/")).text()
    assert 'data-idle-seconds="60"' in page and 'data-key="X"' in page and "读卡区" in page
    data = {"csrf_token": csrf, "uscc": USCC_A, "consent": "legal_rep", "id_number": ID_A,
            "years": "5", "purpose": "bond"}  # fmt: skip
    r = await cli.post("/terminal/ask", data=data, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/terminal/report"
    report = await Report.get()
    assert str(report.channel) == "terminal" and report.operator == "渝中区政务服务中心-自助1号"
    assert str(report.purpose) == "bond" and len(report.domains) == 40
    actor = "operator:渝中区政务服务中心-自助1号"
    assert await AuditEntry.filter(action="report.requested", actor=actor).exists()
    html = await (await cli.get("/terminal/report")).text()
    assert report.number in html and 'data-poll="/terminal/report/status"' in html
    assert (await (await cli.get("/terminal/report/status")).json()) == {"status": "pending"}
    visit = r.cookies["yc_visit"].value
    key = "terminal:visit:" + hashlib.sha256(visit.encode()).hexdigest()
    assert 0 < await redis.ttl(key) <= VISIT_IDLE_S


async def test_an_idle_visit_is_gone_and_ending_one_clears_it(cli: TestClient, redis: Redis):
    await make_enterprises()
    csrf = await kiosk(cli)
    data = {"csrf_token": csrf, "uscc": USCC_A, "consent": "legal_rep", "id_number": ID_A}
    r = await cli.post("/terminal/ask", data=data, allow_redirects=False)
    visit = r.cookies["yc_visit"].value
    key = "terminal:visit:" + hashlib.sha256(visit.encode()).hexdigest()
    await redis.delete(key)  # what 60 idle seconds do
    assert (await cli.get("/terminal/report/status")).status == 404
    r = await cli.get("/terminal/report", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/terminal/end"
    r = await cli.get("/terminal/end", allow_redirects=False)
    assert r.status == 302 and 'yc_visit=""' in r.headers["Set-Cookie"]
    assert USCC_A not in await (await cli.get("/terminal/")).text()


async def agent_code(redis: Redis) -> str:
    """An agent code enterprise A's legal representative issued with the reports scope."""
    ent = await Enterprise.get(uscc=USCC_A)
    rep = await bound_user(ent)
    expires = clock.utc_now() + timedelta(days=30)
    _, code = await create_agent_invite(redis, rep.id, ent.id, "赵六", "13812345678",
                                        ["reports"], expires)  # fmt: skip
    return code


async def test_an_agent_code_asks_for_a_report(cli: TestClient, redis: Redis):
    await make_enterprises()
    csrf = await kiosk(cli)
    data = {"csrf_token": csrf, "uscc": USCC_A, "consent": "agent_code",
            "agent_code": await agent_code(redis)}  # fmt: skip
    r = await cli.post("/terminal/ask", data=data, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/terminal/report"
    report = await Report.get().select_related("enterprise")
    assert str(report.channel) == "terminal" and report.enterprise.uscc == USCC_A


@pytest.mark.parametrize(
    "consent",
    [
        {"consent": "legal_rep", "id_number": "500103198001019999"},
        {"consent": "agent_code", "agent_code": "ABCDEFGHJKLM"},
    ],
    ids=["id-number", "agent-code"],
)
async def test_wrong_consent_is_refused_and_counted(cli: TestClient, consent: dict[str, str]):
    await make_enterprises()
    csrf = await kiosk(cli)
    r = await cli.post("/terminal/ask", data={"csrf_token": csrf, "uscc": USCC_A, **consent})
    assert r.status == 403 and "核验未通过" in await r.text() and "再错 4 次" in await r.text()
    assert await Report.all().count() == 0


async def test_a_visit_without_the_kiosks_token_asks_for_nothing(cli: TestClient):
    await make_enterprises()
    await kiosk(cli)
    data = {"uscc": USCC_A, "consent": "legal_rep", "id_number": ID_A}
    r = await cli.post("/terminal/ask", data=data)
    assert r.status == 403 and "页面已过期" in await r.text()
    assert await Report.all().count() == 0
