"""Objections and reports: an open ticket prints its record as 异议处理中, and a correction made
through the ticket makes an earlier report verify as 报告出具后数据已更新."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from models.report import Report
from render.view import view_from_snapshot
from services.accounts.department_keys import department_by_code
from services.objections import lifecycle
from services.reports.issuing import ReportRequest, issue, request_report
from services.reports.signing import SnapshotSigner
from services.reports.snapshot import records_fingerprint
from services.reports.verification import verify_report
from tests.bot_support import FAKE_RENDERER
from tests.test_objection_support import bound_user, enterprise, record


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")


async def no_dates(domains: Any) -> dict[int, date | None]:
    return {d: date(2026, 11, 20) for d in domains}


async def issued(settings: Settings, redis: Redis, uscc: str) -> Report:
    report = await request_report(
        redis, ReportRequest(uscc=uscc, domains="27,33", start="2021-01-01")
    )
    signer = SnapshotSigner(settings.report_signing_key)
    return await issue(
        report, settings=settings, signer=signer, data_as_of=no_dates, renderer=FAKE_RENDERER
    )


def printed_statuses(report: Report) -> list[str]:
    view = view_from_snapshot(report.snapshot)
    return [r.status for d in view.main.domains for r in d.records]


async def test_an_open_ticket_prints_its_record_as_under_objection_until_it_ends(
    db, redis: Redis, settings: Settings
):
    ent = await enterprise()
    user = await bound_user(ent)
    disputed = await record(ent, ref="R-1")
    await record(ent, ref="R-2", decision_no="渝市监罚〔2024〕99号", decision_date=date(2024, 6, 1))
    before = await issued(settings, redis, ent.uscc)
    assert printed_statuses(before) == ["有效", "有效"]
    ticket = await lifecycle.submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, kind="correction", text="文号有误",
        record_id=disputed.id, settings=settings,
    )  # fmt: skip
    await lifecycle.submit_objection(  # on a domain, no record: marks nothing
        redis, user_id=user.id, enterprise_id=ent.id, kind="detail", text="是否漏报？",
        domain=27, settings=settings,
    )  # fmt: skip
    during = await issued(settings, redis, ent.uscc)
    assert printed_statuses(during) == ["异议处理中", "有效"]
    records = during.snapshot["sections"][0]["domains"][0]["records"]
    assert records[0]["under_objection"] is True and "under_objection" not in records[1]
    # The mark is not data: the fingerprint is the one without it, and the earlier report
    # still verifies as unchanged while the ticket is open.
    assert during.snapshot["records_fingerprint"] == before.snapshot["records_fingerprint"]
    assert records_fingerprint(during.snapshot["sections"]) == records_fingerprint(
        before.snapshot["sections"]
    )
    signer = SnapshotSigner(settings.report_signing_key)
    assert not (await verify_report(before.number, before.verify_code, signer))["data_changed"]
    samr = await department_by_code("samr")
    await lifecycle.reject(redis, samr, ticket.id, note="已超过异议期限")
    after = await issued(settings, redis, ent.uscc)
    assert printed_statuses(after) == ["有效", "有效"]


async def test_a_correction_through_a_ticket_makes_the_earlier_report_verify_as_changed(
    db, redis: Redis, settings: Settings
):
    ent = await enterprise()
    user = await bound_user(ent)
    disputed = await record(ent)
    report = await issued(settings, redis, ent.uscc)
    signer = SnapshotSigner(settings.report_signing_key)
    ticket = await lifecycle.submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, kind="repair", text="已整改，申请信用修复",
        record_id=disputed.id, settings=settings,
    )  # fmt: skip
    samr = await department_by_code("samr")
    await lifecycle.accept(redis, samr, ticket.id, settings=settings)
    assert not (await verify_report(report.number, report.verify_code, signer))["data_changed"]
    _, change = await lifecycle.resolve(redis, samr, ticket.id, resolution="repaired",
                                         note="已完成信用修复", settings=settings)  # fmt: skip
    assert change is not None and change.version == 2
    result = await verify_report(report.number, report.verify_code, signer)
    assert result["genuine"] and result["data_changed"]
    assert result["data_status"] == "报告出具后数据已更新"
    later = await issued(settings, redis, ent.uscc)
    assert printed_statuses(later) == ["已修复"]
