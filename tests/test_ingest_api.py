"""POST /api/dept/records: upserts by (department, source_ref), history, and per-row reasons."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from models.ingest_batch import IngestBatch
from models.record import Record
from models.record_version import RecordVersion
from services.ingest.content import canonical_content, sha256_hex
from tests.test_ingest_support import (
    CSV,
    DRUGS,
    NDJSON,
    SAMR,
    csv_text,
    dept_key,
    make_enterprises,
    ndjson,
    push_records,
    record_row,
)


@pytest.fixture
async def usccs(db) -> list[str]:
    return await make_enterprises(3)


@pytest.fixture
async def key(db) -> str:
    return await dept_key(SAMR)


async def test_a_new_batch_creates_records_at_version_1_with_their_content_hash(cli, usccs, key):
    rows = [record_row(usccs[0], "R-1"), record_row(usccs[1], "R-2", domain="34")]
    status, body = await push_records(cli, key, ndjson(rows))
    assert status == 200, body
    assert body["counts"] == {
        "received": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert body["rejected"] == [] and body["truncated"] is False and body["batch_id"]
    record = await Record.get(source_ref="R-1").prefetch_related("department")
    assert record.version == 1 and record.department.code == SAMR
    version = await RecordVersion.get(record_id=record.id)
    assert version.version == 1 and sha256_hex(version.content) == record.content_hash


async def test_pushing_the_same_batch_again_changes_nothing(cli, usccs, key):
    body = ndjson([record_row(usccs[0], "R-1"), record_row(usccs[1], "R-2")])
    await push_records(cli, key, body)
    status, answer = await push_records(cli, key, body)
    assert status == 200, answer
    assert answer["counts"]["unchanged"] == 2 and answer["counts"]["created"] == 0
    assert await Record.all().count() == 2 and await RecordVersion.all().count() == 2


async def test_a_changed_record_gets_a_new_version_and_keeps_the_old_one(cli, usccs, key):
    await push_records(cli, key, ndjson([record_row(usccs[0], "R-1")]))
    repaired = record_row(usccs[0], "R-1", status="repaired", summary="已完成信用修复。")
    status, answer = await push_records(cli, key, ndjson([repaired]))
    assert status == 200 and answer["counts"]["updated"] == 1, answer
    record = await Record.get(source_ref="R-1")
    assert record.version == 2 and record.status == "repaired"
    versions = await RecordVersion.filter(record_id=record.id).order_by("version")
    assert [v.version for v in versions] == [1, 2]
    assert json.loads(versions[0].content)[9] == "in_force"
    assert json.loads(versions[0].content)[8].startswith("因未按规定公示")
    assert versions[1].content_hash == record.content_hash
    assert versions[1].prev_hash == versions[0].hash


async def test_the_content_hash_is_the_canonical_one_the_seed_uses(cli, usccs, key):
    from services.demo.seed import record_content_hash

    row = record_row(usccs[0], "R-1")
    await push_records(cli, key, ndjson([row]))
    record = await Record.get(source_ref="R-1")
    expected = record_content_hash(department=SAMR, **row)
    assert record.content_hash == expected
    assert canonical_content([SAMR, "R-1"])[:2] == '["'


async def test_the_same_source_ref_in_another_department_is_another_record(cli, usccs, key):
    # 药品监管 (33) is fed by 市药监局 and 市市场监管局 alike.
    drugs = await dept_key(DRUGS)
    for k in (key, drugs):
        status, answer = await push_records(cli, k, ndjson([record_row(usccs[0], "X", domain=33)]))
        assert status == 200 and answer["counts"]["created"] == 1, answer
    assert await Record.filter(source_ref="X").count() == 2


async def test_a_utf8_csv_with_a_bom_is_read(cli, usccs, key):
    text = csv_text([record_row(usccs[0], "C-1"), record_row(usccs[1], "C-2")])
    status, answer = await push_records(cli, key, ("\ufeff" + text).encode(), CSV)
    assert status == 200 and answer["counts"]["created"] == 2, answer
    assert answer["encoding"] == "utf-8"


async def test_a_gbk_csv_is_read_when_its_charset_is_given(cli, usccs, key):
    text = csv_text([record_row(usccs[0], "G-1")])
    status, answer = await push_records(cli, key, text.encode("gbk"), CSV + "; charset=GBK")
    assert status == 200 and answer["counts"]["created"] == 1, answer
    assert (await Record.get(source_ref="G-1")).summary.startswith("因未按规定公示年度报告")


async def test_a_gbk_csv_without_a_charset_is_detected_after_utf8_fails(cli, usccs, key):
    text = csv_text([record_row(usccs[0], "G-1")])
    status, answer = await push_records(cli, key, text.encode("gbk"), CSV)
    assert status == 200 and answer["counts"]["created"] == 1, answer
    assert answer["encoding"] == "gb18030"
    assert (await Record.get(source_ref="G-1")).authority == "重庆市市场监督管理局"


async def test_csv_columns_may_come_in_any_order_and_extra_ones_are_ignored(cli, usccs, key):
    row = {"note": "内部备注", **dict(reversed(record_row(usccs[0], "C-9").items()))}
    status, answer = await push_records(cli, key, csv_text([row]).encode(), CSV)
    assert status == 200 and answer["counts"]["created"] == 1, answer


FUTURE = (date.today() + timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"uscc": "91500000MA5U0B1X2A"}, "uscc", "invalid_uscc"),
        ({"domain": 41}, "domain", "unknown_domain"),
        ({"domain": "市场监管"}, "domain", "unknown_domain"),
        ({"domain": 15}, "domain", "domain_not_owned"),
        ({"decision_date": "2019-12-31"}, "decision_date", "date_before_2020"),
        ({"decision_date": FUTURE}, "decision_date", "date_in_future"),
        ({"decision_date": "2024-02-30"}, "decision_date", "invalid_date"),
        ({"decision_date": "15/03/2024"}, "decision_date", "invalid_date"),
        ({"kind": "parking_ticket"}, "kind", "unknown_kind"),
        ({"status": "archived"}, "status", "unknown_status"),
        ({"summary": ""}, "summary", "missing_field"),
        ({"authority": None}, "authority", "missing_field"),
        ({"decision_no": 12}, "decision_no", "invalid_value"),
        ({"source_ref": "R" * 65}, "source_ref", "field_too_long"),
        ({"summary": "=cmd|' /C calc'!A0"}, "summary", "formula_injection"),
        ({"authority": "@SUM(A1)"}, "authority", "formula_injection"),
        ({"decision_no": "+1"}, "decision_no", "formula_injection"),
        ({"summary": "\t=1+1"}, "summary", "formula_injection"),
        ({"summary": "罚款\x00元"}, "summary", "invalid_character"),
        ({"procedure": None}, "procedure", "missing_procedure"),
        ({"procedure": " "}, "procedure", "missing_procedure"),
        ({"procedure": "summary"}, "procedure", "unknown_procedure"),
        ({"kind": "arrears_tax"}, "kind", "kind_not_allowed_in_domain"),
    ],
)
async def test_a_bad_row_is_rejected_with_its_line_field_code_and_a_chinese_message(
    cli, usccs, key, overrides, field, code
):
    rows = [record_row(usccs[0], "OK-1"), {**record_row(usccs[1], "BAD"), **overrides}]
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 200, answer
    assert answer["counts"]["created"] == 1 and answer["counts"]["rejected"] == 1
    (rejection,) = answer["rejected"]
    assert (rejection["line"], rejection["field"], rejection["code"]) == (2, field, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rejection["message"]), rejection
    assert not await Record.filter(source_ref="BAD").exists()


async def test_a_penalty_keeps_its_procedure_and_other_kinds_need_none(cli, usccs, key):
    rows = [
        record_row(usccs[0], "SIMPLE", procedure="简易程序"),
        record_row(usccs[0], "ORDINARY", procedure="ordinary"),
        {**record_row(usccs[0], "LIST", kind="abnormal_operation"), "procedure": None},
    ]
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 200 and answer["counts"]["created"] == 3, answer
    stored = dict(await Record.all().values_list("source_ref", "procedure"))
    assert stored == {"SIMPLE": "simple", "ORDINARY": "ordinary", "LIST": None}


async def test_an_arrears_record_outside_the_arrears_domains_is_refused(cli, usccs):
    # 市档案局 owns domain 2, which never asks about arrears: it would read as a violation.
    archives = await dept_key("archives")
    row = record_row(usccs[0], "ARR", domain=2, kind="arrears_tax")
    _, answer = await push_records(cli, archives, ndjson([row]))
    (rejection,) = answer["rejected"]
    assert (rejection["field"], rejection["code"]) == ("kind", "kind_not_allowed_in_domain")
    assert "第 2 号领域（档案管理）不核查“欠缴税费”" in rejection["message"]
    assert "第 37 号领域" in rejection["message"]
    assert not await Record.exists()


async def test_a_missing_field_is_named(cli, usccs, key):
    row = record_row(usccs[0], "R-1")
    del row["decision_date"]
    _, answer = await push_records(cli, key, ndjson([row]))
    assert answer["rejected"][0]["code"] == "missing_field"
    assert answer["rejected"][0]["field"] == "decision_date"
    assert "decision_date" in answer["rejected"][0]["message"]


async def test_an_unknown_enterprise_is_rejected(cli, usccs, key):
    from tests.test_ingest_support import uscc_for

    _, answer = await push_records(cli, key, ndjson([record_row(uscc_for(999), "R-1")]))
    assert answer["rejected"][0]["code"] == "unknown_enterprise"
    assert not await Record.exists()


async def test_a_row_over_8_kb_is_rejected_as_too_long(cli, usccs, key):
    rows = [record_row(usccs[0], "LONG", summary="很长" * 1500), record_row(usccs[0], "OK")]
    for body, content_type in ((ndjson(rows), NDJSON), (csv_text(rows).encode(), CSV)):
        _, answer = await push_records(cli, key, body, content_type)
        assert [r["code"] for r in answer["rejected"]] == ["row_too_long"], answer
        assert answer["rejected"][0]["line"] in (1, 2)
    assert not await Record.filter(source_ref="LONG").exists()


async def test_a_line_that_is_not_json_is_rejected_and_the_rest_are_taken(cli, usccs, key):
    body = ndjson([record_row(usccs[0], "R-1")]) + b'{"uscc": "oops"\n[1, 2]\n'
    _, answer = await push_records(cli, key, body)
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [
        (2, "malformed_json"),
        (3, "malformed_json"),
    ]
    assert answer["counts"]["created"] == 1


async def test_a_csv_row_with_the_wrong_number_of_columns_is_rejected(cli, usccs, key):
    text = csv_text([record_row(usccs[0], "R-1"), record_row(usccs[1], "R-2")])
    text += "only,three,columns\r\n"
    _, answer = await push_records(cli, key, text.encode(), CSV)
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [(4, "wrong_column_count")]
    assert answer["counts"]["created"] == 2


async def test_a_source_ref_twice_in_one_batch_keeps_the_first_and_rejects_the_later(
    cli, usccs, key
):
    rows = [
        record_row(usccs[0], "DUP", summary="第一次。"),
        record_row(usccs[1], "OTHER"),
        record_row(usccs[0], "DUP", summary="第二次。"),
    ]
    _, answer = await push_records(cli, key, ndjson(rows))
    assert answer["counts"]["created"] == 2
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [(3, "duplicate_in_batch")]
    assert "第 1 行" in answer["rejected"][0]["message"]
    assert (await Record.get(source_ref="DUP")).summary == "第一次。"


async def test_a_batch_only_for_another_departments_domain_is_refused_with_403(cli, usccs, key):
    # 生态环境保护 (15) belongs to 市生态环境局 alone.
    rows = [record_row(usccs[0], "E-1", domain=15), record_row(usccs[1], "E-2", domain=15)]
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 403, answer
    assert answer["code"] == "domain_not_owned"
    assert answer["details"]["counts"]["rejected"] == 2
    assert not await Record.exists()


async def test_a_mixed_batch_rejects_only_the_rows_for_domains_not_owned(cli, usccs, key):
    rows = [record_row(usccs[0], "OWN"), record_row(usccs[1], "THEIRS", domain=15)]
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 200, answer
    assert [r["code"] for r in answer["rejected"]] == ["domain_not_owned"]
    assert await Record.filter(source_ref="THEIRS").count() == 0
    assert await Record.filter(source_ref="OWN").count() == 1


async def test_only_the_first_1000_rejections_are_listed_and_the_answer_says_so(cli, usccs, key):
    rows = [record_row("bad", f"R-{i}") for i in range(1005)]
    _, answer = await push_records(cli, key, ndjson(rows))
    assert answer["counts"]["rejected"] == 1005
    assert len(answer["rejected"]) == 1000 and answer["truncated"] is True


async def test_an_empty_batch_is_answered_with_zero_counts(cli, key):
    status, answer = await push_records(cli, key, b"")
    assert status == 200 and answer["counts"]["received"] == 0, answer


@pytest.mark.parametrize("header_end", ["", "\r\n"])
async def test_an_empty_csv_batch_is_its_header_line(cli, key, header_end: str):
    header = ",".join(record_row("x", "R-1"))
    status, answer = await push_records(cli, key, (header + header_end).encode(), CSV)
    assert status == 200 and answer["counts"]["received"] == 0, answer


@pytest.mark.parametrize("body", [b"", b"\r\n\r\n"])
async def test_a_csv_body_without_its_header_line_is_refused(cli, key, body: bytes):
    status, answer = await push_records(cli, key, body, CSV)
    assert status == 400 and answer["code"] == "invalid_header", answer
    assert "第一行须为列名" in answer["message"]
    assert (await IngestBatch.get()).status == "refused"  # not a push that keeps a date current


async def test_each_batch_is_recorded_with_its_counts_by_reason(cli, usccs, key):
    rows = [record_row(usccs[0], "R-1"), record_row("bad", "R-2"), record_row("bad", "R-3")]
    _, answer = await push_records(cli, key, ndjson(rows))
    batch = await IngestBatch.get(public_id=answer["batch_id"])
    assert (batch.status, batch.rows_received, batch.created, batch.rejected) == ("done", 3, 1, 2)
    assert batch.rejections_by_code == {"invalid_uscc": 2}
    assert batch.finished_at is not None
