"""The objection service: routing, states, due dates, images, one notification per change."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from config.settings import Settings
from infra.storage import open_store
from models.audit import AuditEntry
from models.enums import BindingRole, ObjectionKind, ObjectionStatus
from models.ingest_batch import IngestBatch
from models.objection import Objection, ObjectionEvent
from services.accounts.department_keys import department_by_code
from services.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.objections import events as objection_events
from services.objections import lifecycle
from services.objections.due import Deadlines, estimated_mark, is_overdue
from services.ratelimit import TooManyRequests
from tests.test_objection_support import (
    JPEG,
    PNG,
    bound_user,
    enterprise,
    notify_jobs,
    record,
)


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")


def submit(redis, settings, user, ent, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("kind", "correction")
    kw.setdefault("text", "该处罚已于2024年撤销，请更正。")
    return lifecycle.submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, settings=settings, **kw
    )


# ---- due dates ------------------------------------------------------------------------------


def test_due_dates_skip_the_2025_national_day_holiday_and_count_make_up_days():
    deadlines = Deadlines()  # defaults: accept 2, resolve 5, repair 10 working days
    # Tue 30 Sep 2025: 1-8 Oct are holidays, so 2 working days end on Fri 10 Oct.
    assert deadlines.accept_due(date(2025, 9, 30)) == date(2025, 10, 10)
    # Fri 26 Sep: Sun 28 Sep is a make-up working day, then Mon 29 Sep.
    assert deadlines.accept_due(date(2025, 9, 26)) == date(2025, 9, 29)
    # Accepted Fri 10 Oct: Sat 11 Oct is a make-up working day (11, 13, 14, 15, 16).
    assert deadlines.resolve_due(date(2025, 10, 10), ObjectionKind.CORRECTION) == date(2025, 10, 16)
    assert deadlines.resolve_due(date(2025, 10, 10), ObjectionKind.REPAIR) == date(2025, 10, 23)


async def test_a_ticket_submitted_before_the_holiday_is_overdue_only_after_its_due_date(
    db, redis: Redis, settings: Settings
):
    ent = await enterprise()
    user = await bound_user(ent)
    rec = await record(ent)
    submitted = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    ticket = await submit(redis, settings, user, ent, record_id=rec.id, now=submitted)
    assert ticket.accept_due == date(2025, 10, 10)
    assert ticket.resolve_due == date(2025, 10, 16)  # provisional: 5 days after accept_due
    assert not is_overdue(ticket, date(2025, 10, 10))
    assert is_overdue(ticket, date(2025, 10, 11))
    samr = await department_by_code("samr")
    late = await lifecycle.objections_for_department(samr, overdue=True, today=date(2025, 10, 11))
    assert [o.id for o in late] == [ticket.id]
    assert (
        await lifecycle.objections_for_department(samr, overdue=False, today=date(2025, 10, 11))
        == []
    )
    accepted = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)  # counted from acceptance now
    await lifecycle.accept(redis, samr, ticket.id, settings=settings, now=accepted)
    await ticket.refresh_from_db()
    assert ticket.resolve_due == date(2025, 10, 15) and not is_overdue(ticket, date(2025, 10, 15))
    assert is_overdue(ticket, date(2025, 10, 16))
    submitted_text, accepted_text = [j["text"] for j in await notify_jobs(redis)]
    assert "受理期限为2025年10月10日" in submitted_text
    assert submitted_text.endswith("可在小程序“我的异议”中查看详情。")  # raised there
    assert "办结期限为2025年10月15日" in accepted_text


async def test_a_due_date_on_an_estimated_calendar_year_says_so(db, redis: Redis, settings):
    ent = await enterprise()
    user = await bound_user(ent)
    rec = await record(ent)
    submitted = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)  # due in 2027: no notice yet
    ticket = await submit(redis, settings, user, ent, record_id=rec.id, now=submitted)
    assert ticket.accept_due.year == 2027
    [text] = [j["text"] for j in await notify_jobs(redis)]
    due = ticket.accept_due
    assert f"受理期限为{due.year}年{due.month}月{due.day}日（预计）" in text
    assert estimated_mark(date(2026, 10, 9)) == ""


async def test_due_days_come_from_the_settings(db, redis: Redis, settings: Settings):
    ent = await enterprise()
    user = await bound_user(ent)
    quick = dataclasses.replace(settings, objection_accept_days=1, objection_repair_days=3)
    ticket = await submit(redis, quick, user, ent, kind="repair", domain=27,
                          now=datetime(2025, 9, 30, 2, tzinfo=UTC))  # fmt: skip
    assert ticket.accept_due == date(2025, 10, 9)
    assert ticket.resolve_due == date(2025, 10, 13)  # 10, 11 (a make-up Saturday), 13


# ---- routing --------------------------------------------------------------------------------


async def test_a_record_ticket_goes_to_the_supplying_department_and_a_domain_one_to_the_lead(
    db, redis: Redis, settings: Settings
):
    ent = await enterprise()
    user = await bound_user(ent)
    # Domain 33 (药品监管) is led by 市药监局 but this record came from 市市场监管局.
    rec = await record(ent, department="samr", domain=33)
    on_record = await submit(redis, settings, user, ent, record_id=rec.id)
    await on_record.fetch_related("department")
    assert on_record.department.code == "samr" and on_record.domain_id == 33
    on_domain = await submit(redis, settings, user, ent, domain=33, kind="detail", text="缺记录？")
    await on_domain.fetch_related("department")
    assert on_domain.department.code == "drugs" and on_domain.record_id is None
    assert on_record.ticket_no.startswith("YY") and on_record.ticket_no != on_domain.ticket_no
    assert len(on_record.query_code) == 6


async def test_another_enterprises_record_or_no_target_is_refused(db, redis, settings):
    ent, other = await enterprise(1), await enterprise(2)
    user = await bound_user(ent)
    foreign = await record(other)
    with pytest.raises(NotFound):
        await submit(redis, settings, user, ent, record_id=foreign.id)
    with pytest.raises(InvalidRequest) as exc:
        await submit(redis, settings, user, ent)
    assert exc.value.code == "objection_target_required"
    with pytest.raises(InvalidRequest):
        await submit(redis, settings, user, ent, domain=27, kind="complaint")
    assert await Objection.all().count() == 0


async def test_only_users_with_the_objections_scope_may_submit(db, redis, settings):
    ent = await enterprise()
    reports_only = await bound_user(ent, BindingRole.AGENT, scopes=("reports",))
    with pytest.raises(Forbidden):
        await submit(redis, settings, reports_only, ent, domain=27)
    agent = await bound_user(ent, BindingRole.AGENT, scopes=("reports", "objections"))
    assert await submit(redis, settings, agent, ent, domain=27)
    stranger = await bound_user(await enterprise(2))
    with pytest.raises(Forbidden):
        await submit(redis, settings, stranger, ent, domain=27)
    assert await Objection.all().count() == 1


# ---- states and notifications ---------------------------------------------------------------


async def test_each_state_change_is_an_event_and_exactly_one_notify_job(db, redis, settings):
    ent = await enterprise()
    user = await bound_user(ent)
    rec = await record(ent)
    samr = await department_by_code("samr")
    ticket = await submit(redis, settings, user, ent, record_id=rec.id, kind="correction")
    with pytest.raises(Conflict):  # not accepted yet
        await lifecycle.resolve(redis, samr, ticket.id, resolution="maintained", note="无误")
    await lifecycle.accept(redis, samr, ticket.id, note="已受理", settings=settings)
    with pytest.raises(Conflict):
        await lifecycle.accept(redis, samr, ticket.id, settings=settings)
    with pytest.raises(InvalidRequest) as exc:  # a correction is not "answered"
        await lifecycle.resolve(redis, samr, ticket.id, resolution="answered", note="x")
    assert exc.value.code == "invalid_resolution"
    await lifecycle.resolve(redis, samr, ticket.id, resolution="maintained",
                             note="经核查，原处罚决定无误，维持原信息。")  # fmt: skip
    await lifecycle.close_by_user(redis, user.id, ticket.id)
    events = await lifecycle.objection_timeline(ticket.id)
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("submit", None, ObjectionStatus.SUBMITTED),
        ("accept", ObjectionStatus.SUBMITTED, ObjectionStatus.ACCEPTED),
        ("resolve", ObjectionStatus.ACCEPTED, ObjectionStatus.RESOLVED),
        ("close", ObjectionStatus.RESOLVED, ObjectionStatus.CLOSED),
    ]
    assert [e.actor for e in events] == [
        f"user:{user.id}",
        "dept:samr",
        "dept:samr",
        f"user:{user.id}",
    ]
    jobs = await notify_jobs(redis)
    assert [j["key"] for j in jobs] == [f"objection-event:{e.id}" for e in events]
    assert all(j["user_id"] == user.id and j["enterprise_id"] == ent.id for j in jobs)
    assert all(j["page"] == f"pages/objection/detail?id={ticket.id}" for j in jobs)
    assert jobs[0]["text"].startswith(f"您的异议（工单号 {ticket.ticket_no}）已提交")
    assert [j["template"]["status"] for j in jobs] == [
        "已提交", "已受理", "已办结（维持原信息）", "已关闭",
    ]  # fmt: skip
    assert "维持原信息" in jobs[2]["text"] and "原处罚决定无误" in jobs[2]["text"]
    assert len(jobs[0]["template"]["time"]) == len("2025-10-10 10:00")
    # A sweep finds nothing missing: no second job for any event.
    assert await objection_events.requeue_missed(redis, older_than=timedelta(0)) == 0
    assert len(await notify_jobs(redis)) == 4


async def test_a_rejection_needs_a_reason_and_ends_the_ticket(db, redis, settings):
    ent = await enterprise()
    user = await bound_user(ent)
    ticket = await submit(redis, settings, user, ent, domain=27)
    samr = await department_by_code("samr")
    with pytest.raises(InvalidRequest):
        await lifecycle.reject(redis, samr, ticket.id, note=" ")
    await lifecycle.reject(redis, samr, ticket.id, note="异议事项不属于本平台受理范围")
    await ticket.refresh_from_db()
    assert ticket.status == ObjectionStatus.REJECTED and ticket.closed_at is not None
    with pytest.raises(Conflict):
        await lifecycle.accept(redis, samr, ticket.id, settings=settings)
    jobs = await notify_jobs(redis)
    assert len(jobs) == 2 and jobs[1]["template"]["status"] == "不予受理"


async def test_a_ticket_is_handed_over_only_within_its_domain(db, redis, settings):
    ent = await enterprise()
    user = await bound_user(ent)
    ticket = await submit(redis, settings, user, ent, domain=33, kind="detail", text="请说明")
    drugs, samr = await department_by_code("drugs"), await department_by_code("samr")
    with pytest.raises(InvalidRequest) as exc:
        await lifecycle.hand_over(redis, drugs, ticket.id, to_department="tax")
    assert exc.value.code == "handover_target_invalid"
    with pytest.raises(Forbidden):  # not samr's (yet)
        await lifecycle.hand_over(redis, samr, ticket.id, to_department="drugs")
    await lifecycle.hand_over(redis, drugs, ticket.id, to_department="samr", note="系我局移交")
    with pytest.raises(Forbidden):
        await lifecycle.accept(redis, drugs, ticket.id, settings=settings)
    await lifecycle.accept(redis, samr, ticket.id, settings=settings)
    events = await lifecycle.objection_timeline(ticket.id)
    assert events[1].action == "handover" and events[1].handed_to.code == "samr"
    jobs = await notify_jobs(redis)
    assert jobs[1]["template"]["status"] == "已转交市市场监管局办理" and len(jobs) == 3
    single = await submit(redis, settings, user, ent, domain=27, kind="detail", text="请说明")
    with pytest.raises(InvalidRequest) as exc:
        await lifecycle.hand_over(redis, samr, single.id, to_department="drugs")
    assert exc.value.code == "handover_not_possible"


async def test_when_redis_fails_the_change_stands_and_the_sweep_queues_it_once(
    db, redis, settings, monkeypatch
):
    ent = await enterprise()
    user = await bound_user(ent)
    ticket = await submit(redis, settings, user, ent, domain=27)
    samr = await department_by_code("samr")

    async def down(*args, **kwargs):
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(objection_events, "enqueue", down)
    await lifecycle.accept(redis, samr, ticket.id, settings=settings)
    await ticket.refresh_from_db()
    assert ticket.status == ObjectionStatus.ACCEPTED
    assert len(await notify_jobs(redis)) == 1  # only the submission's
    monkeypatch.undo()
    # The failed attempt's claim holds for a minute (another process may be enqueueing); once
    # it lapses, the sweep enqueues the job, once.
    accepted = await ObjectionEvent.get(objection_id=ticket.id, action="accept")
    assert await redis.get(f"objection:notified:{accepted.id}") == b"claimed"
    assert await objection_events.requeue_missed(redis, older_than=timedelta(0)) == 0
    await redis.delete(f"objection:notified:{accepted.id}")  # as if the claim had expired
    assert await objection_events.requeue_missed(redis, older_than=timedelta(0)) == 1
    assert await objection_events.requeue_missed(redis, older_than=timedelta(0)) == 0
    keys = [j["key"] for j in await notify_jobs(redis)]
    assert keys.count(f"objection-event:{accepted.id}") == 1 and len(keys) == 2


# ---- images ---------------------------------------------------------------------------------


async def test_images_are_stored_under_the_ticket_and_read_back(db, redis, settings):
    ent = await enterprise()
    user = await bound_user(ent)
    ticket = await submit(redis, settings, user, ent, domain=27,
                          images=[("现场.png", PNG), ("决定书.JPG", JPEG)])  # fmt: skip
    assert [a["content_type"] for a in ticket.attachments] == ["image/png", "image/jpeg"]
    assert all(a["path"].startswith(f"{ticket.ticket_no}/") for a in ticket.attachments)
    event = (await lifecycle.objection_timeline(ticket.id))[0]
    data, kind = await lifecycle.attachment(ticket, event.id, 2, settings)
    assert data == JPEG and kind == "image/jpeg"
    with pytest.raises(NotFound):
        await lifecycle.attachment(ticket, event.id, 3, settings)


@pytest.mark.parametrize(
    ("images", "code"),
    [
        ([("说明.png", b"%PDF-1.7 not an image")], "image_not_supported"),
        ([("大图.png", PNG + b"\0" * (10 * 1024 * 1024))], "image_too_large"),
        ([("照片.jpg", PNG)], "image_extension_mismatch"),
        ([(f"{i}.png", PNG) for i in range(10)], "too_many_images"),
    ],
)
async def test_bad_images_are_refused_and_nothing_is_left_behind(db, redis, settings, images, code):
    ent = await enterprise()
    user = await bound_user(ent)
    with pytest.raises(InvalidRequest) as exc:
        await submit(redis, settings, user, ent, domain=27, images=[("ok.png", PNG), *images])
    assert exc.value.code == code and exc.value.message
    assert await Objection.all().count() == 0 and await ObjectionEvent.all().count() == 0
    assert await open_store(settings, area="objections").names() == []
    assert await notify_jobs(redis) == []


async def test_a_failed_insert_removes_the_images_it_had_stored(db, redis, settings, monkeypatch):
    ent = await enterprise()
    user = await bound_user(ent)

    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ObjectionEvent, "create", broken)
    with pytest.raises(RuntimeError):
        await submit(redis, settings, user, ent, domain=27, images=[("a.png", PNG)])
    assert await Objection.all().count() == 0
    assert await open_store(settings, area="objections").names() == []


async def test_concurrent_submissions_get_distinct_ticket_numbers(db, redis, settings):
    ent = await enterprise()
    user = await bound_user(ent)
    tickets = await asyncio.gather(
        *(submit(redis, settings, user, ent, domain=27, text=f"第{i}件") for i in range(5))
    )
    numbers = {t.ticket_no for t in tickets}
    assert len(numbers) == 5 and all(n.startswith("YY") for n in numbers)
    assert len(await notify_jobs(redis)) == 5


async def test_a_department_a_ticket_was_handed_to_cannot_rewrite_the_owners_record(
    db, redis, settings
):
    ent = await enterprise()
    user = await bound_user(ent)
    rec = await record(ent, department="samr", domain=33, ref="R-33")
    ticket = await submit(redis, settings, user, ent, record_id=rec.id, kind="update")
    samr, drugs = await department_by_code("samr"), await department_by_code("drugs")
    await lifecycle.hand_over(redis, samr, ticket.id, to_department="drugs")
    await lifecycle.accept(redis, drugs, ticket.id, settings=settings)
    with pytest.raises(Forbidden) as refused:
        await lifecycle.resolve(redis, drugs, ticket.id, resolution="updated",
                                 record_changes={"summary": "已缴清罚款。"})  # fmt: skip
    assert refused.value.code == "record_of_other_department"
    assert "市场监管" in refused.value.message
    await rec.refresh_from_db()
    assert rec.version == 1 and rec.summary != "已缴清罚款。"
    assert not await IngestBatch.filter(channel="obj").exists(), "no batch under either department"
    assert not await AuditEntry.filter(action="objection.record_changed").exists()
    assert (await Objection.get(id=ticket.id)).status == ObjectionStatus.ACCEPTED


async def test_a_user_submitting_too_often_is_told_to_wait(db, redis, settings, monkeypatch):
    monkeypatch.setattr(lifecycle, "SUBMISSIONS_PER_HOUR", 2)
    ent = await enterprise()
    user = await bound_user(ent)
    for _ in range(2):
        await submit(redis, settings, user, ent, domain=27)
    with pytest.raises(TooManyRequests):
        await submit(redis, settings, user, ent, domain=27)
    assert await Objection.all().count() == 2
