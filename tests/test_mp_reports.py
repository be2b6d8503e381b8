"""Reports through the mini-program: ask (202), status and links, history, the group."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest

from fakes.wechat import FakeWeChat
from models.audit import AuditEntry
from models.enums import Channel, ReportStatus
from models.report import Report
from models.user import User
from services.reports.issuing import issue
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    bind,
    invite,
    login,
    make_enterprises,
    redeem,
    representative,
)

USCC_A, USCC_A2, USCC_B = (ENTERPRISES[k][0] for k in ("A", "A2", "B"))


async def ask(cli: Any, token: str, **body: Any) -> Any:
    body.setdefault("uscc", USCC_A)
    return await cli.post("/api/mp/reports", json=body, headers=auth(token))


@pytest.fixture
async def rep(mp_cli, fake_wechat: FakeWeChat) -> str:
    """A user bound to enterprise A as its legal representative."""
    await make_enterprises()
    return await representative(mp_cli, fake_wechat)


async def test_a_bound_user_asks_for_a_report_and_gets_202_with_its_id(mp_cli, rep: str):
    r = await ask(mp_cli, rep, domains=[15, 37], **{"from": "2021-01-01", "to": "2023-12-31"})
    assert r.status == 202, await r.text()
    body = await r.json()
    report = await Report.get(id=body["id"])
    assert body["report_no"] == report.number and body["status"] == "pending"
    assert report.channel == Channel.MINIPROGRAM and report.domains == [15, 37]
    assert report.requester_id == (await User.get(mp_openid="o_rep")).id
    assert report.span_from == date(2021, 1, 1) and report.span_to == date(2023, 12, 31)
    entry = await AuditEntry.get(action="report.requested", object_id=report.number)
    assert entry.detail["channel"] == "miniprogram"


async def test_the_status_is_pending_then_ready_with_signed_links_that_work(
    mp_cli, rep: str, settings
):
    report_id = (await (await ask(mp_cli, rep, domains="15")).json())["id"]
    r = await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(rep))
    body = await r.json()
    assert body["status"] == "pending" and body["status_label"] == "排队中"
    assert "pdf_url" not in body
    report = await Report.get(id=report_id)

    async def as_of(domains: Any) -> dict:
        return {d: date(2026, 11, 20) for d in domains}

    await issue(report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
                data_as_of=as_of, renderer=make_renderer(settings.pki_dir))  # fmt: skip
    r = await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(rep))
    body = await r.json()
    assert body["status"] == "ready", body
    assert body["verify_url"].endswith(f"/verify/{report.number}?c={report.verify_code}")
    for kind, magic in (("pdf_url", b"%PDF"), ("png_url", b"\x89PNG")):
        link = urlsplit(body[kind])
        download = await mp_cli.get(f"{link.path}?{link.query}")
        assert download.status == 200 and (await download.read()).startswith(magic)


async def test_related_true_covers_only_the_related_enterprises_the_user_may_act_for(
    mp_cli, fake_wechat: FakeWeChat, rep: str
):
    r = await ask(mp_cli, rep, related=True)
    body = await r.json()
    [excluded] = body["excluded"]
    assert excluded["uscc"] == USCC_A2 and excluded["relation"] == "控股子公司"
    assert "未获得" in excluded["reason"]
    assert (await Report.get(id=body["id"])).related_enterprise_ids == []
    await bind(mp_cli, rep, "A2")
    body = await (await ask(mp_cli, rep, related=True)).json()
    assert body["excluded"] == []
    report = await Report.get(id=body["id"])
    assert len(report.related_enterprise_ids) == 1
    r = await mp_cli.get(f"/api/mp/reports/{report.id}", headers=auth(rep))
    assert [e["uscc"] for e in (await r.json())["related"]] == [USCC_A2]


async def test_an_agent_needs_the_reports_scope(mp_cli, fake_wechat: FakeWeChat, rep: str):
    objections_only = await login(mp_cli, fake_wechat, "o_obj")
    await redeem(mp_cli, objections_only, (await invite(mp_cli, rep, "A", ["objections"]))["code"])
    r = await ask(mp_cli, objections_only)
    assert r.status == 403 and (await r.json())["code"] == "not_authorised"
    reporter = await login(mp_cli, fake_wechat, "o_reports")
    await redeem(mp_cli, reporter, (await invite(mp_cli, rep, "A", ["reports"]))["code"])
    assert (await ask(mp_cli, reporter)).status == 202


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("uscc=", "invalid_uscc"),
        ("page=", "invalid_page"),
        ("page_size=", "invalid_page"),
        ("page=%2B2", "invalid_page"),
        ("page=1_0", "invalid_page"),
        ("page_size=%20%205", "invalid_page"),
    ],
)
async def test_an_empty_or_loose_query_value_is_refused_not_read_as_the_default(
    mp_cli, rep: str, query: str, code: str
):
    r = await mp_cli.get(f"/api/mp/reports?{query}", headers=auth(rep))
    assert r.status == 400 and (await r.json())["code"] == code, await r.text()


async def test_a_user_asks_only_for_their_own_enterprise(mp_cli, rep: str):
    for uscc in (USCC_B, USCC_A2, "91500000MA5UXXXX0" + "0"):  # the last: a wrong check digit
        r = await ask(mp_cli, rep, uscc=uscc)
        assert r.status in (403, 422), await r.text()
    assert not await Report.exists()


# 400 for what the document rules out; 422 for a span the document allows but the policy does not.
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"domains": [41]}, 400, "unknown_domain"),
        ({"domains": "0,41"}, 400, "unknown_domain"),
        ({"domains": {"a": 1}}, 400, "unknown_domain"),
        ({"from": "2019-12-31"}, 422, "span_before_2020"),
        ({"to": "2999-01-01"}, 422, "span_in_future"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, 422, "span_reversed"),
        ({"from": "2023/01/01"}, 400, "invalid_date"),
        ({"purpose": "fun"}, 400, "unknown_purpose"),
        ({"related": "yes"}, 400, "invalid_related"),
        ({"uscc": 42}, 400, "missing_field"),
    ],
)
async def test_a_bad_request_is_refused_with_its_status_and_a_chinese_message(
    mp_cli, rep: str, body: dict, status: int, code: str
):
    r = await ask(mp_cli, rep, **body)
    assert r.status == status, await r.text()
    answer = await r.json()
    assert answer["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in answer["message"])


async def test_the_history_is_the_users_own_newest_first_and_paginated(
    mp_cli, fake_wechat: FakeWeChat, rep: str
):
    ids = [(await (await ask(mp_cli, rep, domains=[n])).json())["id"] for n in (1, 2, 3)]
    r = await mp_cli.get("/api/mp/reports?page_size=2", headers=auth(rep))
    body = await r.json()
    assert body["total"] == 3 and [i["id"] for i in body["items"]] == ids[::-1][:2]
    r = await mp_cli.get("/api/mp/reports?page=2&page_size=2", headers=auth(rep))
    assert [i["id"] for i in (await r.json())["items"]] == ids[:1]
    r = await mp_cli.get(f"/api/mp/reports?uscc={USCC_A}", headers=auth(rep))
    assert (await r.json())["total"] == 3
    r = await mp_cli.get(f"/api/mp/reports?uscc={USCC_B}", headers=auth(rep))
    assert r.status == 403
    r = await mp_cli.get("/api/mp/reports?page=0", headers=auth(rep))
    assert r.status == 400 and (await r.json())["code"] == "invalid_page"
    # Another user of the same enterprise has a history of their own.
    colleague = await login(mp_cli, fake_wechat, "o_colleague")
    await redeem(mp_cli, colleague, (await invite(mp_cli, rep, "A"))["code"])
    r = await mp_cli.get("/api/mp/reports", headers=auth(colleague))
    assert (await r.json())["total"] == 0


async def test_a_failed_report_says_so_in_chinese(mp_cli, rep: str):
    report_id = (await (await ask(mp_cli, rep)).json())["id"]
    await Report.filter(id=report_id).update(status=ReportStatus.FAILED, failure_reason="boom")
    body = await (await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(rep))).json()
    assert body["status"] == "failed" and "重新申请" in body["failure"]
    assert "boom" not in str(body)


async def test_an_unknown_report_is_a_404(mp_cli, rep: str):
    for path in ("/api/mp/reports/987654", "/api/mp/reports/abc"):
        r = await mp_cli.get(path, headers=auth(rep))
        assert r.status == 404, await r.text()


@pytest.mark.parametrize("query", ["page=100001", "page_size=101", "page=x", "page_size=0"])
async def test_page_parameters_out_of_range_are_a_400(mp_cli, rep: str, query: str):
    r = await mp_cli.get(f"/api/mp/reports?{query}", headers=auth(rep))
    assert r.status == 400 and (await r.json())["code"] == "invalid_page"
