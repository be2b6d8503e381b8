"""Abuse: the smaller holes. Hidden formulas, existence oracles, the database file's mode,
retried creating POSTs, killed workers' jobs, and concurrent number allocation.

(A department rewriting another's record after a hand-over:
tests/test_objections.py::test_a_department_a_ticket_was_handed_to_cannot_rewrite_the_owners_record.)
"""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from fakes.wechat import FakeWeChat
from infra.db import database, migrate
from infra.formula import starts_like_formula
from models.objection import Objection
from models.report import Report
from queues import DEFAULT_GROUP, JobContext, Registry, StreamConfig, Worker, enqueue
from services.accounts.department_keys import create_department_key
from tests.test_ingest_support import ndjson, push_records, record_row
from tests.test_mp_support import ENTERPRISES, auth, make_enterprises, representative
from tests.test_objection_support import bound_user, enterprise, token
from tests.test_queues import FAST, running

HIDDEN_FORMULAS = ["\n=1+1", "\u00a0=HYPERLINK(1)", "\u200b=cmd|' /C calc'!A0", "\ufeff@SUM(A1)",
                   "\u3000\r\n+1", "\u2060-1+2", "\t=1"]  # fmt: skip


@pytest.mark.parametrize("value", HIDDEN_FORMULAS)
def test_a_formula_behind_whitespace_or_invisible_characters_is_caught(value: str):
    assert starts_like_formula(value)


@pytest.mark.parametrize("value", ["渝市监罚〔2024〕12号", "罚款 5,000 元 = 处罚", "a=b", ""])
def test_ordinary_text_is_not_a_formula(value: str):
    assert not starts_like_formula(value)


async def test_a_department_push_with_hidden_formulas_is_rejected_row_by_row(cli):  # type: ignore[no-untyped-def]
    ent = await enterprise(1)
    key = (await create_department_key("samr")).key
    fields = ("decision_no", "authority", "summary", "source_ref")
    rows = [record_row(ent.uscc, f"R-{i}", **{fields[i % 4]: v})
            for i, v in enumerate(HIDDEN_FORMULAS)]  # fmt: skip
    status, answer = await push_records(cli, key, ndjson(rows))
    assert status == 200, answer
    assert answer["counts"]["created"] == 0
    assert {r["code"] for r in answer["rejected"]} == {"formula_injection"}
    assert len(answer["rejected"]) == len(HIDDEN_FORMULAS)


async def test_objection_text_is_checked_for_formulas(cli, redis: Redis):  # type: ignore[no-untyped-def]
    ent = await enterprise(1)
    headers = await token(redis, await bound_user(ent))
    for text in HIDDEN_FORMULAS:
        body = {"enterprise_id": ent.id, "kind": "correction", "domain": 27, "text": text}
        r = await cli.post("/api/mp/objections", json=body, headers=headers)
        answer = await r.json()
        assert r.status == 422 and answer["code"] == "formula_injection", (text, answer)
        assert "公式" in answer["message"]
    assert not await Objection.exists()


# ---- existence oracle -----------------------------------------------------------------------


async def test_another_enterprises_report_answers_exactly_like_a_missing_one(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    owner = await representative(mp_cli, fake_wechat, "A", "o_owner")
    r = await mp_cli.post(
        "/api/mp/reports", json={"uscc": ENTERPRISES["A"][0]}, headers=auth(owner)
    )
    report_id = (await r.json())["id"]
    stranger = await representative(mp_cli, fake_wechat, "B", "o_stranger")
    theirs = await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(stranger))
    missing = await mp_cli.get(f"/api/mp/reports/{report_id + 1000}", headers=auth(stranger))
    assert theirs.status == missing.status == 404
    assert await theirs.json() == await missing.json()


# ---- the SQLite file ------------------------------------------------------------------------


async def test_a_new_sqlite_database_and_its_wal_are_readable_by_the_owner_only(tmp_path: Path):
    path = tmp_path / "fresh" / "yucredit.db"
    url = f"sqlite://{path}"
    await migrate(url)
    async with database(url):
        await enterprise(1)  # a write, so that the WAL exists
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert "yucredit.db-wal" in modes or "yucredit.db" in modes
    assert set(modes.values()) == {0o600}, modes


# ---- Idempotency-Key ------------------------------------------------------------------------


async def test_a_retried_report_request_with_the_same_key_gets_the_same_answer(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    body = {"uscc": ENTERPRISES["A"][0]}

    async def ask(who: str, key: str) -> tuple[int, dict[str, Any], str | None]:
        headers = {**auth(who), "Idempotency-Key": key}
        r = await mp_cli.post("/api/mp/reports", json=body, headers=headers)
        return r.status, await r.json(), r.headers.get("Idempotent-Replayed")

    first, again = await ask(rep, "k-1"), await ask(rep, "k-1")
    assert first[0] == again[0] == 202 and first[1] == again[1]
    assert (first[2], again[2]) == (None, "true")
    assert await Report.all().count() == 1
    r = await mp_cli.post("/api/mp/reports", json={**body, "related": True},
                          headers={**auth(rep), "Idempotency-Key": "k-1"})  # fmt: skip
    assert r.status == 422 and (await r.json())["code"] == "idempotency_key_reused"
    assert await Report.all().count() == 1
    other_key = await ask(rep, "k-2")
    assert other_key[1]["id"] != first[1]["id"] and await Report.all().count() == 2
    r = await mp_cli.post("/api/mp/reports", json=body,
                          headers={**auth(rep), "Idempotency-Key": "空格 不行"})  # fmt: skip
    assert r.status == 400 and (await r.json())["code"] == "invalid_idempotency_key"


async def test_the_same_key_from_another_user_is_another_request(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    first = await representative(mp_cli, fake_wechat, "A", "o_first")
    second = await representative(mp_cli, fake_wechat, "B", "o_second")
    for who, uscc in ((first, ENTERPRISES["A"][0]), (second, ENTERPRISES["B"][0])):
        r = await mp_cli.post("/api/mp/reports", json={"uscc": uscc},
                              headers={**auth(who), "Idempotency-Key": "same"})  # fmt: skip
        assert r.status == 202 and "Idempotent-Replayed" not in r.headers
    assert await Report.all().count() == 2


async def test_concurrent_retries_of_one_objection_create_one_ticket(cli, redis: Redis):  # type: ignore[no-untyped-def]
    ent = await enterprise(1)
    headers = {**await token(redis, await bound_user(ent)), "Idempotency-Key": "obj-1"}
    body = {"enterprise_id": ent.id, "kind": "correction", "domain": 27, "text": "数据有误"}
    answers = await asyncio.gather(
        *(cli.post("/api/mp/objections", json=body, headers=headers) for _ in range(5))
    )
    statuses = sorted(r.status for r in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert await Objection.all().count() == 1
    for r in answers:
        if r.status == 409:
            assert (await r.json())["code"] == "idempotency_in_progress" and r.headers[
                "Retry-After"
            ]
    r = await cli.post("/api/mp/objections", json=body, headers=headers)
    assert r.status == 201 and r.headers["Idempotent-Replayed"] == "true"


async def test_a_failed_request_frees_its_key(cli, redis: Redis):  # type: ignore[no-untyped-def]
    ent = await enterprise(1)
    headers = {**await token(redis, await bound_user(ent)), "Idempotency-Key": "obj-2"}
    body = {"enterprise_id": ent.id, "kind": "correction", "domain": 27}
    r = await cli.post("/api/mp/objections", json=body, headers=headers)
    assert r.status == 422 and (await r.json())["code"] == "text_required"
    r = await cli.post("/api/mp/objections", json={**body, "text": "补上"}, headers=headers)
    assert r.status == 201 and "Idempotent-Replayed" not in r.headers


def _multipart(boundary: str, fields: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    return f"{body}--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"
    }


async def test_a_multipart_retry_with_another_boundary_gets_the_first_answer(cli, redis: Redis):  # type: ignore[no-untyped-def]
    ent = await enterprise(1)
    headers = {**await token(redis, await bound_user(ent)), "Idempotency-Key": "obj-3"}
    fields = {"enterprise_id": ent.id, "kind": "correction", "domain": 27, "text": "数据有误"}
    answers = []
    for boundary in ("first-boundary", "a-retry-boundary-of-another-length"):
        body, content_type = _multipart(boundary, fields)
        r = await cli.post("/api/mp/objections", data=body, headers={**headers, **content_type})
        answers.append((r.status, r.headers.get("Idempotent-Replayed"), await r.json()))
    assert [a[:2] for a in answers] == [(201, None), (201, "true")], answers
    assert answers[0][2] == answers[1][2] and await Objection.all().count() == 1


async def test_a_multipart_body_of_the_same_length_with_other_fields_is_another_request(
    cli, redis: Redis
):  # type: ignore[no-untyped-def]
    ent = await enterprise(1)
    headers = {**await token(redis, await bound_user(ent)), "Idempotency-Key": "obj-4"}
    first = {"enterprise_id": ent.id, "kind": "correction", "domain": 27, "text": "数据有误"}
    second = {**first, "domain": 28}  # as long as the first, to the byte
    bodies = [_multipart("b", first), _multipart("b", second)]
    assert len(bodies[0][0]) == len(bodies[1][0])
    r = await cli.post("/api/mp/objections", data=bodies[0][0], headers={**headers, **bodies[0][1]})
    assert r.status == 201, await r.text()
    r = await cli.post("/api/mp/objections", data=bodies[1][0], headers={**headers, **bodies[1][1]})
    assert r.status == 422 and (await r.json())["code"] == "idempotency_key_reused"
    assert await Objection.all().count() == 1


# ---- a killed worker's jobs ---------------------------------------------------------------

STREAM = "abuse:jobs"


def test_the_default_reclaim_time_is_well_under_a_minute():
    assert StreamConfig("any").min_idle_s <= 15


async def test_a_killed_workers_job_runs_again_within_seconds(redis: Redis):
    registry = Registry()
    ran: list[float] = []

    @registry.job("x")
    async def x(ctx: JobContext, payload: dict[str, Any]) -> None:
        ran.append(time.monotonic())

    config = StreamConfig(STREAM, min_idle_s=1.0)
    await redis.xgroup_create(STREAM, DEFAULT_GROUP, id="0", mkstream=True)
    await enqueue(redis, STREAM, "x", {})
    await redis.xreadgroup(DEFAULT_GROUP, "killed", {STREAM: ">"}, count=1)  # then it died
    killed_at = time.monotonic()
    async with running(Worker(redis, registry, [config], **FAST)):
        while not ran and time.monotonic() - killed_at < 10:
            await asyncio.sleep(0.05)
    assert ran and ran[0] - killed_at < config.min_idle_s + 1.0


async def test_a_live_workers_slow_job_is_not_reclaimed_thanks_to_its_heartbeat(redis: Redis):
    registry = Registry()
    runs: list[int] = []

    @registry.job("slow")
    async def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
        runs.append(ctx.delivery)
        await asyncio.sleep(2.5)  # five times min_idle_s

    config = StreamConfig(STREAM, min_idle_s=0.5)
    await enqueue(redis, STREAM, "slow", {})
    first = Worker(redis, registry, [config], consumer="first", **FAST)
    second = Worker(redis, registry, [config], consumer="second", **FAST)
    async with running(first), running(second):
        await asyncio.sleep(3.2)
    assert runs == [1], "the janitor of the other worker ran it a second time"


# ---- number allocation ----------------------------------------------------------------------


async def test_sixty_concurrent_report_requests_all_get_a_number(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    body = {"uscc": ENTERPRISES["A"][0]}
    answers = await asyncio.gather(
        *(mp_cli.post("/api/mp/reports", json=body, headers=auth(rep)) for _ in range(60))
    )
    codes = [(r.status, (await r.json()).get("code")) for r in answers]
    assert all(status == 202 for status, _ in codes), codes
    numbers = [report.number for report in await Report.all()]
    assert len(numbers) == len(set(numbers)) == 60
