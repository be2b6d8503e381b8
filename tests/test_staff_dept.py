"""The department console (/dept/): the inbox sorted by due date with working-day countdowns,
filters, a ticket with its photos, and accept, correct, reject and hand over through the same
lifecycle as the department API, each audited with the person; and the sad paths."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config import clock
from config.settings import Settings
from handlers.app import create_app
from models.audit import AuditEntry
from models.objection import Objection, ObjectionEvent
from models.record import Record
from services.accounts.department_keys import create_department_key
from services.accounts.mp_sessions import create_session
from services.objections import lifecycle
from tests.staff_support import make_staff, sign_in
from tests.test_objection_report import issued
from tests.test_objection_support import PNG, bound_user, enterprise, notify_jobs, record


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")


@pytest.fixture
async def cli(aiohttp_client, settings: Settings, db: str, redis: Redis) -> TestClient:
    return await aiohttp_client(create_app(settings))


async def clerk(cli: TestClient, code: str = "samr", role: str = "dept_handler") -> str:
    """Sign a clerk of department `code` in; the page's CSRF token."""
    new = await make_staff(f"{role[5:]}.{code}", role, department_code=code, name="张伟")
    return (await sign_in(cli, new))["X-CSRF-Token"]


async def ticket(redis: Redis, settings: Settings, *, days_ago: int = 0, kind: str = "correction",
                 index: int = 1, **kw) -> Objection:  # fmt: skip
    ent = await enterprise(index)
    user = await bound_user(ent)
    disputed = await record(ent, ref=f"R-{index}")
    at = clock.utc_now() - timedelta(days=days_ago)
    return await lifecycle.submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, kind=kind, text=kw.pop("text", "文号有误"),
        record_id=disputed.id, settings=settings, now=at, **kw,
    )  # fmt: skip


async def test_the_inbox_lists_the_soonest_due_first_with_overdue_marked(
    cli: TestClient, redis: Redis, settings: Settings
):
    fresh = await ticket(redis, settings, index=1)
    late = await ticket(redis, settings, days_ago=15, index=2)
    await clerk(cli)
    html = await (await cli.get("/dept/")).text()
    assert html.index(late.ticket_no) < html.index(fresh.ticket_no)
    assert "已逾期" in html and 'class="card overdue"' in html
    assert "剩余 2 个工作日" in html or "剩余 1 个工作日" in html or "今日到期" in html


async def test_the_inbox_filters_by_kind_and_status(
    cli: TestClient, redis: Redis, settings: Settings
):
    correction = await ticket(redis, settings, index=1)
    repair = await ticket(redis, settings, index=2, kind="repair", text="已整改")
    await clerk(cli)
    html = await (await cli.get("/dept/?kind=repair")).text()
    assert repair.ticket_no in html and correction.ticket_no not in html
    html = await (await cli.get("/dept/?status=accepted")).text()
    assert repair.ticket_no not in html and "没有符合条件的异议" in html
    r = await cli.get("/dept/?kind=nonsense")
    assert r.status == 400 and "未知的异议类型" in await r.text()


async def test_a_clerk_accepts_and_corrects_and_the_next_report_shows_it(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings)
    csrf = await clerk(cli)
    path = f"/dept/objections/{objection.id}"
    page = await (await cli.get(path)).text()
    assert "文号有误" in page and "受理" in page
    r = await cli.post(f"{path}/accept", data={"csrf_token": csrf, "note": "已受理"},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303 and r.headers["Location"] == f"{path}?done=1"
    r = await cli.post(f"{path}/resolve", allow_redirects=False, data={
        "csrf_token": csrf, "resolution": "corrected", "decision_no": "渝市监罚〔2024〕21号",
        "note": "文号已更正"})  # fmt: skip
    assert r.status == 303, await r.text()
    stored = await Objection.get(id=objection.id)
    assert stored.status == "resolved" and stored.resolution == "corrected"
    corrected = await Record.get(id=objection.record_id)
    assert corrected.decision_no == "渝市监罚〔2024〕21号" and corrected.version == 2
    actions = await AuditEntry.filter(actor="staff:handler.samr").values_list("action", flat=True)
    assert {"staff.objection.accept", "staff.objection.resolve"} <= set(actions)
    report = await issued(settings, redis, (await corrected.enterprise).uscc)
    records = report.snapshot["sections"][0]["domains"][0]["records"]
    assert records[0]["decision_no"] == "渝市监罚〔2024〕21号"


async def test_a_clerks_events_name_the_person_to_the_department_and_not_to_the_enterprise(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings)
    csrf = await clerk(cli)
    path = f"/dept/objections/{objection.id}"
    key = {"Authorization": f"Bearer {(await create_department_key('samr')).key}"}
    r = await cli.post(f"/api/dept/objections/{objection.id}/accept", headers=key, json={})
    assert r.status == 200, await r.text()
    r = await cli.post(f"{path}/ask", data={"csrf_token": csrf, "note": "请补充处罚决定书"},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303, await r.text()
    person = "dept:samr/staff:handler.samr"
    actors = (
        await ObjectionEvent.filter(objection_id=objection.id)
        .order_by("id")
        .values_list("actor", flat=True)
    )
    assert actors[1:] == ["dept:samr", person]
    assert await AuditEntry.filter(actor=person, action="objection.ask").exists()
    assert "（张伟）" in await (await cli.get(path)).text()
    dept_view = await (await cli.get(f"/api/dept/objections/{objection.id}", headers=key)).json()
    staff = [e["staff"] for e in dept_view["timeline"]]
    assert staff == [None, None, {"username": "handler.samr", "name": "张伟"}]
    session = await create_session(redis, objection.submitted_by_id)  # type: ignore[attr-defined]
    mine = await cli.get(f"/api/mp/objections/{objection.id}",
                         headers={"Authorization": f"Bearer {session.token}"})  # fmt: skip
    text = await mine.text()
    assert mine.status == 200 and "张伟" not in text and "handler.samr" not in text
    asked = (await mine.json())["timeline"][2]
    assert asked["actor"] == "市市场监管局" and "staff" not in asked


async def test_a_clerk_of_another_department_cannot_open_or_act_on_the_ticket(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings, images=[("证明.png", PNG)])
    csrf = await clerk(cli, "tax")
    path = f"/dept/objections/{objection.id}"
    r = await cli.get(path)
    assert r.status == 403 and "该异议不由本部门办理" in await r.text()
    events = await lifecycle.objection_timeline(objection.id)
    r = await cli.get(f"{path}/events/{events[0].id}/attachments/1")
    assert r.status == 403 and r.content_type == "text/html"
    r = await cli.post(f"{path}/accept", data={"csrf_token": csrf}, allow_redirects=False)
    assert r.status == 403
    assert (await Objection.get(id=objection.id)).status == "submitted"
    assert objection.ticket_no not in await (await cli.get("/dept/")).text()


async def test_photos_are_served_as_images_only_and_texts_escaped(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings, images=[("证明.png", PNG)],
                             text="<script>alert(1)</script>文号有误")  # fmt: skip
    await clerk(cli, role="dept_viewer")
    page = await (await cli.get(f"/dept/objections/{objection.id}")).text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    events = await lifecycle.objection_timeline(objection.id)
    r = await cli.get(f"/dept/objections/{objection.id}/events/{events[0].id}/attachments/1")
    assert r.status == 200 and r.content_type == "image/png" and await r.read() == PNG
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_viewer_sees_no_actions_and_is_refused_one(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings)
    csrf = await clerk(cli, role="dept_viewer")
    page = await (await cli.get(f"/dept/objections/{objection.id}")).text()
    assert f"/dept/objections/{objection.id}/accept" not in page
    r = await cli.post(f"/dept/objections/{objection.id}/accept", data={"csrf_token": csrf})
    assert r.status == 403 and "查看员账号不能办理异议" in await r.text()
    assert (await Objection.get(id=objection.id)).status == "submitted"


async def test_an_action_without_the_csrf_token_changes_nothing(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings)
    await clerk(cli)
    r = await cli.post(f"/dept/objections/{objection.id}/accept", data={"note": "x"})
    assert r.status == 403 and "CSRF" in await r.text()
    assert (await Objection.get(id=objection.id)).status == "submitted"
    assert not await AuditEntry.filter(action="staff.objection.accept").exists()


async def test_rejecting_needs_a_reason(cli: TestClient, redis: Redis, settings: Settings):
    objection = await ticket(redis, settings)
    csrf = await clerk(cli)
    path = f"/dept/objections/{objection.id}"
    r = await cli.post(f"{path}/reject", data={"csrf_token": csrf, "note": ""})
    assert r.status == 422 and "不予受理的理由" in await r.text()
    r = await cli.post(f"{path}/reject", data={"csrf_token": csrf, "note": "已超过异议期限"},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303
    assert (await Objection.get(id=objection.id)).status == "rejected"


async def test_a_ticket_is_handed_over_to_a_co_owning_department(
    cli: TestClient, aiohttp_client, settings: Settings, redis: Redis
):
    ent = await enterprise(3)
    user = await bound_user(ent)
    disputed = await record(ent, department="drugs", domain=33, ref="D-1")
    objection = await lifecycle.submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, kind="correction", text="非本企业药品",
        record_id=disputed.id, settings=settings,
    )  # fmt: skip
    csrf = await clerk(cli, "drugs")
    page = await (await cli.get(f"/dept/objections/{objection.id}")).text()
    assert "转交共管部门" in page and 'value="samr"' in page
    form = {"csrf_token": csrf, "department": "samr", "note": "属市场监管"}
    r = await cli.post(f"/dept/objections/{objection.id}/handover", data=form,
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303 and objection.ticket_no in r.headers["Location"]
    assert (await cli.get(f"/dept/objections/{objection.id}")).status == 403
    other = await aiohttp_client(create_app(settings))
    await clerk(other, "samr")
    assert objection.ticket_no in await (await other.get("/dept/")).text()
    entry = await AuditEntry.get(action="staff.objection.handover")
    assert entry.actor == "staff:handler.drugs" and entry.detail["to"] == "samr"


async def test_people_of_no_department_are_refused_the_console(cli: TestClient):
    new = await make_staff()  # ops
    await sign_in(cli, new)
    r = await cli.get("/dept/")
    assert r.status == 403 and "无权" in await r.text()


async def test_a_clerk_claims_a_ticket_and_a_colleague_cannot_take_it(
    cli: TestClient, aiohttp_client, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings)
    csrf = await clerk(cli)
    path = f"/dept/objections/{objection.id}"
    r = await cli.post(f"{path}/claim", data={"csrf_token": csrf}, allow_redirects=False)
    assert r.status == 303
    assert "认领人 张伟" in await (await cli.get("/dept/")).text()
    colleague = await make_staff("li.samr", "dept_admin", department_code="samr", name="李四")
    other = await aiohttp_client(create_app(settings))
    other_csrf = (await sign_in(other, colleague))["X-CSRF-Token"]
    r = await other.post(f"{path}/claim", data={"csrf_token": other_csrf})
    assert r.status == 409 and "该异议已由张伟认领" in await r.text()
    assert (await AuditEntry.get(action="staff.objection.claim")).actor == "staff:handler.samr"


async def test_asking_for_more_notifies_the_enterprise_and_keeps_the_due_dates(
    cli: TestClient, redis: Redis, settings: Settings
):
    objection = await ticket(redis, settings)
    csrf = await clerk(cli)
    path = f"/dept/objections/{objection.id}"
    r = await cli.post(f"{path}/ask", data={"csrf_token": csrf, "note": ""})
    assert r.status == 422 and "需要补充的材料" in await r.text()
    before = len(await notify_jobs(redis))
    r = await cli.post(f"{path}/ask", allow_redirects=False,
                       data={"csrf_token": csrf, "note": "请补充处罚决定书扫描件"})  # fmt: skip
    assert r.status == 303
    jobs = await notify_jobs(redis)
    assert len(jobs) == before + 1
    assert "需要您补充材料" in jobs[-1]["text"] and "处罚决定书扫描件" in jobs[-1]["text"]
    stored = await Objection.get(id=objection.id)
    assert stored.status == "submitted" and stored.accept_due == objection.accept_due
    assert "请企业补充材料" in await (await cli.get(path)).text()
