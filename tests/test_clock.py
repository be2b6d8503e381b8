"""One clock in China time: at 07:30 in Beijing on 7 December every path says 7 December, even
on a host whose own zone is still on the 6th."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.dialogs import Turn
from bot.parse_span import parse_span
from config import clock
from config.settings import Settings
from services.accounts.department_keys import department_by_code
from services.ingest.push import ingest_batch
from services.objections.due import Deadlines
from services.objections.lifecycle import submit_objection
from services.reports.issuing import ReportRequest, issue, request_report
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner
from tests.test_ingest_support import NDJSON, SAMR, make_enterprises, ndjson, record_row
from tests.test_objection_support import bound_user, enterprise, record
from tests.test_reports import USCC, make_enterprise

ROOT = Path(__file__).resolve().parent.parent
MORNING = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 07:30 on 7 December in Beijing
PRODUCTION = ("bot", "cli", "config", "fakes", "handlers", "models", "queues", "render", "services")
# date.today() and a bare datetime.now() read the host's zone; utcnow() gives a naive datetime.
HOST_CLOCK = re.compile(r"\bdate\.today\(\)|\bdatetime\.now\(\s*\)|\.utcnow\(|\btime\.localtime\(")


@pytest.fixture
def morning():
    with clock.frozen_at(MORNING):
        yield


def test_the_clock_is_china_time(morning):
    assert clock.today() == date(2026, 12, 7)
    assert clock.now().isoformat() == "2026-12-07T07:30:00+08:00"
    assert clock.utc_now() == MORNING


def test_a_naive_moment_cannot_freeze_the_clock():
    with pytest.raises(ValueError), clock.frozen_at(datetime(2026, 12, 7, 7, 30)):
        pass


async def test_report_number_span_and_issue_time_say_the_7th(morning, settings, db, redis):
    await make_enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, end="2026-12-07"))
    assert report.number.startswith("YX20261207")
    assert report.span_to == date(2026, 12, 7)
    default = await request_report(redis, ReportRequest(uscc=USCC))
    assert default.span_to == date(2026, 12, 7)

    async def as_of(domains):  # type: ignore[no-untyped-def]
        return {d: clock.today() for d in domains}

    issued = await issue(
        report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
        data_as_of=as_of, renderer=make_renderer(settings.pki_dir),
    )  # fmt: skip
    assert issued.snapshot["issued_at"] == "2026-12-07T07:30:00+08:00"


async def test_a_record_decided_this_morning_is_accepted(morning, db):
    [uscc] = await make_enterprises(1)

    async def body():  # type: ignore[no-untyped-def]
        yield ndjson([record_row(uscc, "TODAY", decision_date="2026-12-07")])

    result = await ingest_batch(await department_by_code(SAMR), body(), content_type=NDJSON)
    assert result.to_dict()["counts"]["created"] == 1, result.to_dict()


async def test_tickets_and_their_due_dates_count_from_the_7th(
    morning, settings: Settings, db, redis: Redis
):
    ent = await enterprise()
    user = await bound_user(ent)
    rec = await record(ent)
    ticket = await submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, kind="correction", text="文号有误",
        record_id=rec.id, settings=settings,
    )  # fmt: skip
    assert ticket.ticket_no.startswith("YY20261207")
    assert ticket.accept_due == Deadlines.from_settings(settings).accept_due(date(2026, 12, 7))


def test_the_bot_reads_the_7th(morning):
    # The engine stamps each turn with the clock's moment; the span parser reads its date.
    turn = Turn(None, None, None, None, clock.utc_now().timestamp())  # type: ignore[arg-type]
    assert turn.today == date(2026, 12, 7)
    assert parse_span("近一年", turn.today).end == date(2026, 12, 7)


def test_no_production_module_reads_the_hosts_clock():
    offenders = []
    for path in [*(p for d in PRODUCTION for p in (ROOT / d).rglob("*.py")), ROOT / "run.py"]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if HOST_CLOCK.search(line.split("#", 1)[0]):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
