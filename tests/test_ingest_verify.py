"""Tamper evidence: `audit verify` recomputes the version log and names rows edited behind the
API's back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tortoise import connections

from models.catalogue import Department
from models.enterprise import Enterprise
from models.record import Record
from models.record_version import RecordVersion
from services.accounts.department_keys import department_by_code
from services.ingest.content import record_content_hash
from services.ingest.integrity import verify_record_chain
from services.ingest.push import ingest_batch
from tests.conftest import REDIS_URL
from tests.test_ingest_support import NDJSON, SAMR, make_enterprises, ndjson, record_row

ROOT = Path(__file__).resolve().parent.parent


async def _push(rows: list[dict]) -> None:
    async def body():  # type: ignore[no-untyped-def]
        yield ndjson(rows)

    await ingest_batch(await department_by_code(SAMR), body(), content_type=NDJSON)


@pytest.fixture
async def pushed(db) -> list[str]:
    usccs = await make_enterprises(3)
    await _push([record_row(usccs[i], f"R-{i}") for i in range(3)])
    await _push([record_row(usccs[1], "R-1", status="repaired")])
    return usccs


def _sql(text: str) -> str:
    if connections.get("default").capabilities.dialect == "postgres":
        return text.replace("?", "$1")
    return text


async def test_an_untouched_log_verifies(pushed):
    report = await verify_record_chain()
    assert report.ok, [b.describe() for b in report.breaks]
    assert (report.entries, report.records, report.unchained) == (4, 3, 0)


async def test_a_summary_edited_in_the_database_is_named(pushed):
    target = await Record.get(source_ref="R-2")
    await connections.get("default").execute_query(
        _sql('UPDATE "record" SET "summary" = \'无违法记录。\' WHERE "id" = ?'), [target.id]
    )
    report = await verify_record_chain()
    assert [(b.record_id, b.department, b.source_ref) for b in report.breaks] == [
        (target.id, SAMR, "R-2")
    ]
    assert "直接改动" in report.breaks[0].describe() and "R-2" in report.breaks[0].describe()


async def test_an_edit_that_also_rewrites_the_content_hash_is_named(pushed):
    target = await Record.get(source_ref="R-0")
    forged = record_content_hash(
        department=SAMR, **{**record_row(pushed[0], "R-0"), "summary": "无。"}
    )
    await Record.filter(id=target.id).update(summary="无。", content_hash=forged)
    report = await verify_record_chain()
    assert [b.source_ref for b in report.breaks] == ["R-0"]
    assert "版本日志" in report.breaks[0].reason


async def test_an_edited_version_entry_is_named_with_its_record(pushed):
    entry = await RecordVersion.get(id=2)
    content = json.loads(entry.content)
    content[8] = "改写的摘要。"
    await RecordVersion.filter(id=2).update(content=json.dumps(content, ensure_ascii=False))
    report = await verify_record_chain()
    assert [(b.entry_id, b.source_ref) for b in report.breaks] == [(2, "R-1")]


async def test_a_deleted_tail_of_the_log_shows_against_the_audit_anchor(pushed):
    record = await Record.get(source_ref="R-1")
    await RecordVersion.filter(id=4).delete()
    await Record.filter(id=record.id).update(version=1, status="in_force")
    await Record.filter(id=record.id).update(
        content_hash=record_content_hash(department=SAMR, **record_row(pushed[1], "R-1"))
    )
    report = await verify_record_chain()
    assert any("截断" in b.reason and b.entry_id == 4 for b in report.breaks), report.breaks


async def test_records_loaded_outside_ingestion_are_checked_by_their_hash(pushed):
    enterprise = await Enterprise.get(uscc=pushed[0])
    samr = await Department.get(code=SAMR)
    row = record_row(pushed[0], "SEEDED")
    await Record.create(
        enterprise=enterprise,
        domain_id=27,
        department=samr,
        source_ref="SEEDED",
        kind=row["kind"],
        decision_no=row["decision_no"],
        authority=row["authority"],
        decision_date=date(2024, 3, 15),
        summary=row["summary"],
        status="in_force",
        procedure=row["procedure"],
        content_hash=record_content_hash(department=SAMR, **row),
        pushed_at=datetime(2024, 3, 18, 2, tzinfo=UTC),
    )
    report = await verify_record_chain()
    assert report.ok and report.unchained == 1
    await Record.filter(source_ref="SEEDED").update(status="revoked")
    assert [b.source_ref for b in (await verify_record_chain()).breaks] == ["SEEDED"]


async def test_updating_a_seeded_record_logs_its_old_content_first(pushed):
    enterprise = await Enterprise.get(uscc=pushed[0])
    row = record_row(pushed[0], "SEEDED")
    await Record.create(
        enterprise=enterprise,
        domain_id=27,
        department=await Department.get(code=SAMR),
        source_ref="SEEDED",
        kind=row["kind"],
        decision_no=row["decision_no"],
        authority=row["authority"],
        decision_date=date(2024, 3, 15),
        summary=row["summary"],
        status="in_force",
        procedure=row["procedure"],
        content_hash=record_content_hash(department=SAMR, **row),
        pushed_at=datetime(2024, 3, 18, 2, tzinfo=UTC),
    )
    await _push([{**row, "status": "revoked"}])
    record = await Record.get(source_ref="SEEDED")
    versions = await RecordVersion.filter(record_id=record.id).order_by("version")
    assert [(v.version, json.loads(v.content)[9]) for v in versions] == [
        (1, "in_force"),
        (2, "revoked"),
    ]
    assert (await verify_record_chain()).ok


def _run(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
    }
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


async def test_run_py_audit_verify_passes_then_fails_naming_the_edited_row(
    pushed, database_url, tmp_path
):
    ok = _run(database_url, tmp_path, "audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "完好" in ok.stdout
    await Record.filter(source_ref="R-2").update(summary="无。")
    failed = _run(database_url, tmp_path, "audit", "verify")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "samr / R-2" in failed.stdout and "直接改动" in failed.stdout


async def test_a_record_deleted_from_the_database_is_named_from_its_logged_history(pushed):
    target = await Record.get(source_ref="R-1")
    await Record.filter(id=target.id).delete()
    report = await verify_record_chain()
    assert [(b.record_id, b.department, b.source_ref) for b in report.breaks] == [
        (target.id, SAMR, "R-1")
    ]
    assert "删除" in report.breaks[0].reason
