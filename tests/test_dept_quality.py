"""Freshness and quality: the 7-working-day rule by month, rejection rates, "data as of"."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.accounts.department_keys import department_by_code
from services.ingest.push import ingest_batch
from services.ingest.quality import data_as_of, data_as_of_all, department_quality
from tests.conftest import REDIS_URL
from tests.test_ingest_support import (
    DRUGS,
    ECOLOGY,
    NDJSON,
    SAMR,
    auth,
    dept_key,
    make_enterprises,
    ndjson,
    push_records,
    record_row,
)

BEIJING = timezone(timedelta(hours=8))
ROOT = Path(__file__).resolve().parent.parent


async def _push_at(code: str, rows: list[dict], at: datetime) -> None:
    async def body():  # type: ignore[no-untyped-def]
        yield ndjson(rows)

    await ingest_batch(await department_by_code(code), body(), content_type=NDJSON, now=at)


@pytest.fixture
async def usccs(db) -> list[str]:
    return await make_enterprises(3)


async def test_lateness_counts_working_days_in_beijing_time_by_month(usccs):
    # 2025-09-26 is the Friday before National Day: Sunday 28 September and Saturday 11 October
    # are make-up working days, 1-8 October are holidays, so the 7th working day is 13 October.
    decided = "2025-09-26"
    pushes = [
        ("ON-TIME", decided, datetime(2025, 10, 13, 23, 30, tzinfo=BEIJING)),
        ("LATE", decided, datetime(2025, 10, 14, 10, 0, tzinfo=BEIJING)),
        # 16:30 UTC on the 13th is 00:30 on the 14th in Beijing: already late.
        ("LATE-BY-MINUTES", decided, datetime(2025, 10, 13, 16, 30, tzinfo=UTC)),
        ("NOVEMBER", "2025-11-04", datetime(2025, 11, 5, 9, 0, tzinfo=BEIJING)),
    ]
    for ref, day, at in pushes:
        await _push_at(SAMR, [record_row(usccs[0], ref, decision_date=day)], at)
    figures = await department_quality(SAMR)
    assert (figures.records, figures.measured, figures.late) == (4, 4, 2)
    assert [(m.month, m.records, m.late) for m in figures.by_month] == [
        ("2025-09", 3, 2),
        ("2025-11", 1, 0),
    ]
    assert figures.late_share == 0.5
    assert figures.last_push == datetime(2025, 11, 5, 9, 0, tzinfo=BEIJING)


async def test_records_decided_before_the_rule_took_effect_are_backfills_never_late(usccs):
    # The policy: history since 2020 "于 2024 年 12 月 1 日前推送"; the 7-day rule after that.
    at = datetime(2026, 3, 2, 10, tzinfo=BEIJING)
    await _push_at(SAMR, [record_row(usccs[0], "OLD", decision_date="2021-06-01")], at)
    await _push_at(SAMR, [record_row(usccs[0], "EVE", decision_date="2024-11-30")], at)
    await _push_at(SAMR, [record_row(usccs[0], "NEW", decision_date="2024-12-02")], at)
    figures = await department_quality(SAMR)
    assert (figures.records, figures.backfill, figures.measured, figures.late) == (3, 2, 1, 1)
    assert [m.month for m in figures.by_month] == ["2024-12"]
    shown = figures.to_dict()
    assert shown["backfill"]["records"] == 2 and "历史信息补录" in shown["backfill"]["label"]
    assert shown["late"]["from"] == "2024-12-01" and shown["late"]["share"] == 1.0


async def test_changes_are_timed_from_their_own_status_date(usccs):
    decided = record_row(usccs[0], "R", decision_date="2021-05-06")
    await _push_at(SAMR, [decided], datetime(2021, 5, 7, 10, tzinfo=BEIJING))
    # Repaired on Monday 2 March 2026, pushed on the 4th: on time, though decided in 2021.
    repaired = {**decided, "status": "repaired", "status_date": "2026-03-02"}
    await _push_at(SAMR, [repaired], datetime(2026, 3, 4, 10, tzinfo=BEIJING))
    # Revoked on 3 March, pushed on the 20th: late.
    revoked = {**decided, "status": "revoked", "status_date": "2026-03-03"}
    await _push_at(SAMR, [revoked], datetime(2026, 3, 20, 10, tzinfo=BEIJING))
    # A correction of the summary that brings no new status date cannot be timed.
    await _push_at(
        SAMR, [{**revoked, "summary": "更正摘要"}], datetime(2026, 3, 21, tzinfo=BEIJING)
    )
    other = record_row(usccs[1], "S", decision_date="2022-01-04")
    await _push_at(SAMR, [other], datetime(2022, 1, 5, tzinfo=BEIJING))
    old_repair = {**other, "status": "repaired", "status_date": "2024-06-03"}  # before the rule
    await _push_at(SAMR, [old_repair], datetime(2026, 3, 5, tzinfo=BEIJING))
    changes = (await department_quality(SAMR)).changes
    assert (changes.measured, changes.late, changes.backfill, changes.undated) == (2, 1, 1, 1)
    assert changes.to_dict()["share"] == 0.5


async def test_a_status_date_before_the_decision_is_rejected(cli, usccs):
    key = await dept_key(SAMR)
    row = record_row(usccs[0], "R", status="repaired", status_date="2024-03-14")
    _, answer = await push_records(cli, key, ndjson([row]))
    (rejection,) = answer["rejected"]
    assert (rejection["field"], rejection["code"]) == ("status_date", "status_date_before_decision")


async def test_lateness_on_an_estimated_calendar_year_is_marked_as_estimated(usccs):
    # Decided 30 December 2026: its 7th working day falls in 2027, whose notice is not out.
    at = datetime(2027, 1, 20, 10, tzinfo=BEIJING)
    await _push_at(SAMR, [record_row(usccs[0], "NY", decision_date="2026-12-30")], at)
    await _push_at(SAMR, [record_row(usccs[0], "OCT", decision_date="2026-10-09")], at)
    figures = await department_quality(SAMR)
    months = {m["month"]: m for m in figures.to_dict()["late"]["by_month"]}
    assert months["2026-12"]["calendar"] == "预计" and "calendar" not in months["2026-10"]
    assert figures.late_share_text == "100.0%（预计）"


async def test_rejection_rates_are_kept_by_reason(cli, usccs):
    key = await dept_key(SAMR)
    rows = [
        record_row(usccs[0], "A"),
        record_row("bad", "B"),
        record_row("bad", "C"),
        record_row(usccs[1], "D", domain=15),
    ]
    await push_records(cli, key, ndjson(rows))
    await push_records(cli, key, bytes(range(256)), "text/csv")  # refused whole
    r = await cli.get("/api/dept/quality", headers=auth(key))
    assert r.status == 200, await r.text()
    quality = await r.json()
    assert (quality["rows_received"], quality["rows_rejected"]) == (4, 3)
    assert quality["rejection_rate"] == 0.75
    by_code = {q["code"]: (q["count"], q["rate"]) for q in quality["rejections"]}
    assert by_code == {"invalid_uscc": (2, 0.5), "domain_not_owned": (1, 0.25)}
    assert quality["refused_batches"] == {"binary_body": 1}
    assert quality["rejections"][0]["label"] == "统一社会信用代码校验失败"


async def test_a_department_reads_its_own_quality_and_never_anothers(cli, usccs):
    samr, ecology = await dept_key(SAMR), await dept_key(ECOLOGY)
    await push_records(cli, ecology, ndjson([record_row(usccs[0], "E-1", domain=15)]))
    r = await cli.get("/api/dept/quality", headers=auth(samr))
    mine = await r.json()
    assert mine["department"]["code"] == SAMR and mine["records"] == 0
    r = await cli.get("/api/dept/quality?department=ecology", headers=auth(samr))
    assert r.status == 403, await r.text()
    assert (await r.json())["code"] == "dept_mismatch"
    r = await cli.get("/api/dept/quality?department=ecology", headers=auth(ecology))
    assert r.status == 200 and (await r.json())["records"] == 1


async def test_data_as_of_is_the_oldest_last_push_among_a_domains_departments(usccs):
    assert await data_as_of(33) is None
    await _push_at(SAMR, [record_row(usccs[0], "S-1")], datetime(2025, 3, 3, 10, tzinfo=BEIJING))
    assert await data_as_of(27) == date(2025, 3, 3)
    assert await data_as_of(33) is None  # 市药监局 has never pushed
    await _push_at(
        DRUGS, [record_row(usccs[1], "D-1", domain=33)], datetime(2025, 3, 5, 1, tzinfo=BEIJING)
    )
    assert await data_as_of(33) == date(2025, 3, 3)
    await _push_at(SAMR, [record_row(usccs[0], "S-1")], datetime(2025, 3, 7, 10, tzinfo=BEIJING))
    assert await data_as_of(33) == date(2025, 3, 5)
    everything = await data_as_of_all()
    assert len(everything) == 40 and everything[27] == date(2025, 3, 7) and everything[15] is None


async def test_an_empty_batch_refreshes_data_as_of_and_an_all_rejected_one_does_not(usccs):
    await _push_at(SAMR, [record_row(usccs[0], "S-1")], datetime(2025, 3, 3, 10, tzinfo=BEIJING))
    await _push_at(SAMR, [record_row("bad", "S-2")], datetime(2025, 3, 4, 10, tzinfo=BEIJING))
    assert await data_as_of(27) == date(2025, 3, 3)
    await _push_at(SAMR, [], datetime(2025, 3, 6, 10, tzinfo=BEIJING))
    assert await data_as_of(27) == date(2025, 3, 6)


async def test_run_py_dept_quality_prints_every_department(usccs, database_url, tmp_path):
    late = record_row(usccs[0], "S-1", decision_date="2025-01-02")
    await _push_at(SAMR, [late], datetime(2025, 3, 3, 10, tzinfo=BEIJING))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
    }
    out = subprocess.run(
        [sys.executable, "run.py", "dept", "quality"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["部门代码", "部门", "最近推送"]
    assert len(lines) == 1 + 42
    samr = next(line for line in lines if line.startswith("samr "))
    assert "2025-03-03 10:00" in samr and "100.0%" in samr
    assert "从未推送" in next(line for line in lines if line.startswith("ecology "))


async def test_last_pushes_compare_instants_whatever_offset_they_were_stored_with(usccs):
    from models.catalogue import Department
    from models.enterprise import Enterprise
    from models.record import Record

    # A record loaded outside ingestion at 23:30 in Beijing, then an empty push half an hour
    # later given in UTC (16:00Z is 00:00 the next day in Beijing).
    row = record_row(usccs[0], "OLD")
    await Record.create(
        enterprise=await Enterprise.get(uscc=usccs[0]),
        domain_id=27,
        department=await Department.get(code=SAMR),
        source_ref="OLD",
        kind=row["kind"],
        decision_no=row["decision_no"],
        authority=row["authority"],
        decision_date=date(2025, 3, 1),
        summary=row["summary"],
        status="in_force",
        content_hash="0" * 64,
        pushed_at=datetime(2025, 3, 3, 23, 30, tzinfo=BEIJING),
    )
    assert await data_as_of(27) == date(2025, 3, 3)
    await _push_at(SAMR, [], datetime(2025, 3, 3, 16, 0, tzinfo=UTC))
    assert await data_as_of(27) == date(2025, 3, 4)
