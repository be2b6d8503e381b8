"""The demo data loader: deterministic, idempotent, and plausible down to every check digit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from stdnum import numdb
from stdnum.cn import uscc as stdnum_uscc
from stdnum.iso7064 import mod_11_2

from config.catalogue import DEPARTMENTS, DOMAINS, DOMAINS_BY_NUMBER, EARLIEST_DATE
from config.settings import Settings
from infra.db import database, migrate
from models.audit import AuditEntry
from models.catalogue import Department, DomainOwnership
from models.enterprise import Enterprise, EnterpriseRelation
from models.enums import ARREARS_KINDS, RecordKind, RecordStatus, RelationKind
from models.record import Record
from models.report import Report
from models.user import Binding, User
from services.audit import verify_audit_chain
from services.demo.names import DISTRICTS, DISTRICTS_BY_CODE
from services.demo.seed import (
    CHUNK_SIZE,
    KIND_DOMAINS,
    DemoGenerator,
    SeedResult,
    demo_fingerprint,
    demo_id_number,
    demo_legal_representative,
    organisation_code,
    record_content_hash,
    seed_demo,
)
from services.errors import Conflict, InvalidRequest
from services.identity import hash_id_number, id_number_matches
from services.reports.catalogue import sync_catalogue
from tests.conftest import BACKEND, POSTGRES_URL

TODAY = date(2025, 6, 30)
SEED = 7
SMALL = {"enterprises": 50, "records": 2000}

ROOT = Path(__file__).resolve().parent.parent


async def _seed(settings: Settings, **overrides: Any) -> SeedResult:
    arguments: dict[str, Any] = {
        **SMALL,
        "seed": SEED,
        "id_hash_key": settings.id_hash_key,
        "today": TODAY,
        "progress": False,
    }
    return await seed_demo(**{**arguments, **overrides})


async def _dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every column of the demo tables, in id order, as the ORM reads them."""
    return {
        "enterprise": await Enterprise.all().order_by("id").values_list(),
        "relation": await EnterpriseRelation.all().order_by("id").values_list(),
        "record": await Record.all().order_by("id").values_list(),
    }


async def _seed_and_dump(url: str, settings: Settings, seed: int) -> tuple[SeedResult, dict]:
    async with database(url):
        result = await _seed(settings, seed=seed)
        return result, await _dump()


@pytest.fixture
async def other_database_url(template_database: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second fresh database, migrated and with the catalogue synced."""
    if BACKEND == "sqlite":
        path = tmp_path / "other.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite://{path}"
        return
    name = f"seedtmp_{uuid.uuid4().hex[:10]}"
    admin_url = POSTGRES_URL.replace("postgres://", "postgresql://", 1)
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
        await migrate(url)
        async with database(url):
            await sync_catalogue()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- determinism ---------------------------------------------------------------------------


async def test_the_same_seed_writes_identical_rows_into_two_fresh_databases(
    database_url: str, other_database_url: str, settings: Settings
):
    first, first_rows = await _seed_and_dump(database_url, settings, SEED)
    second, second_rows = await _seed_and_dump(other_database_url, settings, SEED)
    assert first.status == second.status == "seeded"
    assert first.fingerprint == second.fingerprint
    assert len(first_rows["record"]) == 2000 and len(first_rows["enterprise"]) == 50
    assert first_rows == second_rows


async def test_a_different_seed_gives_different_rows_and_fingerprint(
    database_url: str, other_database_url: str, settings: Settings
):
    first, first_rows = await _seed_and_dump(database_url, settings, SEED)
    second, second_rows = await _seed_and_dump(other_database_url, settings, SEED + 1)
    assert first.fingerprint != second.fingerprint
    assert {r[1] for r in first_rows["enterprise"]}.isdisjoint(
        {r[1] for r in second_rows["enterprise"]}
    )


# --- running again ---------------------------------------------------------------------------


async def test_seeding_again_with_the_same_arguments_changes_nothing(db: str, settings: Settings):
    first = await _seed(settings)
    before = await _dump()
    entries = await AuditEntry.all().count()

    second = await _seed(settings)

    assert (first.status, second.status) == ("seeded", "unchanged")
    assert second.fingerprint == first.fingerprint
    assert (second.enterprises, second.relations, second.records) == (
        first.enterprises,
        first.relations,
        first.records,
    )
    assert await _dump() == before
    assert await AuditEntry.all().count() == entries


async def test_other_arguments_are_refused_while_data_are_there(db: str, settings: Settings):
    first = await _seed(settings)
    with pytest.raises(Conflict) as refused:
        await _seed(settings, seed=SEED + 1)
    assert refused.value.code == "database_not_empty"
    assert "replace" in refused.value.message and "演示数据" in refused.value.message
    assert await demo_fingerprint() == first.fingerprint


async def test_data_edited_after_seeding_are_not_taken_for_unchanged(db: str, settings: Settings):
    await _seed(settings)
    await Record.filter(id=1).update(summary="人工改动")
    with pytest.raises(Conflict):
        await _seed(settings)


async def test_an_enterprise_loaded_otherwise_blocks_seeding(db: str, settings: Settings):
    await Enterprise.create(
        uscc="91500103MA5U3H1X8W",
        name="重庆既有企业有限公司",
        legal_rep_name="王伟",
        legal_rep_id_hash="0" * 64,
        district="渝中区",
    )
    with pytest.raises(Conflict):
        await _seed(settings)
    assert await Enterprise.all().count() == 1


async def test_replace_empties_reports_and_bindings_and_reseeds(db: str, settings: Settings):
    await _seed(settings)
    user = await User.create(mp_openid="openid-1")
    await Binding.create(user=user, enterprise_id=1, role="legal_representative")
    await Report.create(
        number="YX20250630000001",
        verify_code="ABCD1234",
        enterprise_id=1,
        domains=[1, 2],
        span_from=EARLIEST_DATE,
        span_to=TODAY,
        purpose="listing",
        channel="miniprogram",
    )

    result = await _seed(settings, seed=SEED + 1, records=1500, replace=True)

    assert result.status == "seeded" and result.records == 1500
    assert await Record.all().count() == 1500
    assert await Report.all().count() == 0 and await Binding.all().count() == 0
    assert await User.all().count() == 1  # people are not demo data
    cleared = await AuditEntry.filter(action="demo.cleared").first()
    assert cleared is not None
    assert cleared.detail["report"] == 1 and cleared.detail["record"] == 2000
    assert await demo_fingerprint() == result.fingerprint


async def test_rows_added_after_seeding_get_fresh_ids(db: str, settings: Settings):
    result = await _seed(settings)
    enterprise = await Enterprise.create(
        uscc="91500103MA5U3H1X8W",
        name="重庆后来企业有限公司",
        legal_rep_name="李娜",
        legal_rep_id_hash="0" * 64,
        district="渝中区",
    )
    relation = await EnterpriseRelation.create(parent_id=1, child=enterprise, kind="branch")
    record = await Record.create(
        enterprise=enterprise,
        domain_id=27,
        department=await Department.get(code="samr"),
        source_ref="AFTER-1",
        kind=RecordKind.ADMINISTRATIVE_PENALTY,
        decision_no="渝市监罚〔2025〕1号",
        authority="重庆市市场监管局",
        decision_date=TODAY,
        summary="因发布虚假广告，被处以警告并罚款5,000元。",
        content_hash="0" * 64,
        pushed_at=datetime(2025, 7, 1, 2, 0).astimezone(),
    )
    assert enterprise.id == result.enterprises + 1
    assert relation.id == result.relations + 1
    assert record.id == result.records + 1


async def test_arguments_out_of_range_are_refused(db: str, settings: Settings):
    with pytest.raises(InvalidRequest):
        await _seed(settings, enterprises=0)
    with pytest.raises(InvalidRequest):
        await _seed(settings, today=date(2019, 12, 31))
    assert not await Enterprise.exists()


# --- enterprises -----------------------------------------------------------------------------


async def test_every_uscc_is_valid_unique_and_from_a_chongqing_district(
    db: str, settings: Settings
):
    await _seed(settings, enterprises=300, records=0)
    enterprises = await Enterprise.all()
    usccs = [e.uscc for e in enterprises]
    assert len(set(usccs)) == len(usccs) == 300
    for e in enterprises:
        assert stdnum_uscc.is_valid(e.uscc), e.uscc
        assert e.uscc[:2] == "91"  # registered by market regulation, as an enterprise
        division = e.uscc[2:8]
        assert re.fullmatch(r"500[12]\d\d", division), e.uscc
        assert DISTRICTS_BY_CODE[division].name == e.district
        assert organisation_code(e.uscc[8:16]) == e.uscc[8:17]  # GB 11714 check character


def test_every_district_has_its_real_code_and_name():
    table = numdb.get("cn/loc")
    for district in DISTRICTS:
        found = {
            key: value for _, props in table.info(district.code) for key, value in props.items()
        }
        assert found.get("province") == "重庆市"
        assert district.name in found.get("county", ""), district


async def test_names_look_like_chongqing_enterprises_and_people(db: str, settings: Settings):
    await _seed(settings, enterprises=300, records=0)
    enterprises = await Enterprise.all()
    names = [e.name for e in enterprises]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"重庆[\u4e00-\u9fff（）、]+公司", n) for n in names), names[:5]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", e.legal_rep_name) for e in enterprises)


# --- legal representatives -----------------------------------------------------------------


async def test_the_plain_id_number_is_never_stored_but_its_keyed_hash_matches(
    db: str, settings: Settings
):
    await _seed(settings)
    stored = " ".join(str(v) for row in (await _dump())["enterprise"] for v in row)
    stored += " ".join(str(e.detail) for e in await AuditEntry.all())
    for index in (0, 17, 49):
        person = demo_legal_representative(SEED, index)
        enterprise = await Enterprise.get(id=index + 1)
        assert person.id_number not in stored
        assert enterprise.legal_rep_name == person.name
        assert id_number_matches(
            settings.id_hash_key, person.id_number, enterprise.legal_rep_id_hash
        )
        assert enterprise.legal_rep_id_hash == hash_id_number(
            settings.id_hash_key, person.id_number
        )


def test_demo_id_numbers_are_well_formed_chongqing_id_numbers():
    numbers = [demo_id_number(SEED, i) for i in range(300)]
    assert numbers == [demo_id_number(SEED, i) for i in range(300)]
    assert numbers != [demo_id_number(SEED + 1, i) for i in range(300)]
    for number in numbers:
        assert re.fullmatch(r"\d{17}[\dX]", number)
        assert number[:6] in DISTRICTS_BY_CODE
        birth = datetime.strptime(number[6:14], "%Y%m%d").date()
        assert date(1962, 1, 1) <= birth <= date(1998, 12, 31)
        assert mod_11_2.is_valid(number)  # the ISO 7064 MOD 11-2 check character


# --- relations -----------------------------------------------------------------------------


async def test_relations_join_distinct_enterprises_in_groups(db: str, settings: Settings):
    await _seed(settings, enterprises=400, records=0)
    relations = await EnterpriseRelation.all().prefetch_related("parent", "child")
    assert relations
    assert all(r.parent_id != r.child_id for r in relations)
    assert {r.kind for r in relations} == set(RelationKind)
    parents = Counter(r.parent_id for r in relations)
    assert 0.05 <= len(parents) / 400 <= 0.15  # about a tenth of the enterprises lead groups
    assert max(parents.values()) <= 5
    assert max(Counter(r.child_id for r in relations).values()) == 1
    for r in relations:
        trade = r.parent.name[2:4]
        assert r.child.name[2:4] == trade  # a group shares its trade name
        if r.kind is RelationKind.BRANCH:
            assert r.child.name.startswith(r.parent.name) and r.child.name.endswith("分公司")


# --- records -------------------------------------------------------------------------------


async def test_records_cover_every_domain_and_kind_within_the_span(db: str, settings: Settings):
    await _seed(settings)
    records = await Record.all()
    assert len(records) == 2000
    assert {r.domain_id for r in records} == {d.number for d in DOMAINS}
    assert {r.kind for r in records} == set(RecordKind)
    assert all(EARLIEST_DATE <= r.decision_date <= TODAY for r in records)
    statuses = Counter(r.status for r in records)
    assert 0.06 <= statuses[RecordStatus.REPAIRED] / 2000 <= 0.14
    assert 0.01 <= statuses[RecordStatus.REVOKED] / 2000 <= 0.05
    assert all(r.version == 1 for r in records)


async def test_arrears_come_only_from_arrears_domains_and_owning_departments(
    db: str, settings: Settings
):
    await _seed(settings)
    owned = set(await DomainOwnership.all().values_list("domain_id", "department_id"))
    expected = {
        RecordKind.ARREARS_TAX: {37},
        RecordKind.ARREARS_HOUSING_FUND: {36},
        RecordKind.ARREARS_SOCIAL_INSURANCE: {13, 30, 37},
    }
    for r in await Record.all():
        assert (r.domain_id, r.department_id) in owned, r.id
        if r.kind in ARREARS_KINDS:
            assert r.domain_id in expected[r.kind]
            assert DOMAINS_BY_NUMBER[r.domain_id].checks_arrears
    assert all(set(KIND_DOMAINS[k]) == expected[k] for k in expected)


async def test_record_texts_are_unique_hashed_and_pushed_after_the_decision(
    db: str, settings: Settings
):
    await _seed(settings)
    usccs = dict(await Enterprise.all().values_list("id", "uscc"))
    codes = dict(await Department.all().values_list("id", "code"))
    records = await Record.all()
    refs = {(r.department_id, r.source_ref) for r in records}
    assert len(refs) == len(records)
    late = 0
    for r in records:
        code = codes[r.department_id]
        assert r.source_ref.startswith(f"DEMO-{code}-")
        assert re.search(r"〔20\d\d〕\d+号$|^（20\d\d）渝\d*[\u4e00-\u9fff]+\d+号$", r.decision_no)
        assert r.decision_no.count(str(r.decision_date.year)) >= 1
        assert r.content_hash == record_content_hash(
            department=code,
            source_ref=r.source_ref,
            uscc=usccs[r.enterprise_id],
            domain=r.domain_id,
            kind=r.kind.value,
            decision_no=r.decision_no,
            authority=r.authority,
            decision_date=r.decision_date,
            summary=r.summary,
            status=r.status.value,
            procedure=r.procedure,
        )
        assert (r.procedure is None) == (r.kind != "administrative_penalty")
        pushed = r.pushed_at.date()
        assert r.pushed_at.utcoffset() is not None
        assert r.decision_date <= pushed <= TODAY
        late += pushed - r.decision_date > timedelta(days=14)
    assert 0.05 <= late / len(records) <= 0.25  # freshness statistics have something to show


def test_the_records_do_not_depend_on_the_chunk_size():
    def records(size: int) -> list[tuple[Any, ...]]:
        plan = DemoGenerator(
            enterprises=20,
            records=500,
            seed=SEED,
            id_hash_key="key",
            today=TODAY,
            department_ids={d.code: i + 1 for i, d in enumerate(DEPARTMENTS)},
        )
        return [row for chunk in plan.record_chunks(size) for row in chunk]

    assert records(7) == records(500) == records(CHUNK_SIZE)
    assert len(records(7)) == 500


def test_the_content_hash_covers_every_field():
    fields: dict[str, Any] = {
        "department": "samr",
        "source_ref": "DEMO-samr-00000001",
        "uscc": "91500103MA5U3H1X8W",
        "domain": 27,
        "kind": "administrative_penalty",
        "decision_no": "渝市监罚〔2023〕1号",
        "authority": "重庆市市场监管局",
        "decision_date": date(2023, 5, 6),
        "summary": "因发布虚假广告，被处以警告并罚款5,000元。",
        "status": "in_force",
    }
    digest = record_content_hash(**fields)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert record_content_hash(**{**fields, "decision_date": "2023-05-06"}) == digest
    for name in fields:
        changed = {**fields, name: "x" if name != "domain" else 28}
        assert record_content_hash(**changed) != digest, name


# --- audit ---------------------------------------------------------------------------------


async def test_the_seeding_is_recorded_in_the_audit_trail_with_its_fingerprint(
    db: str, settings: Settings
):
    result = await _seed(settings)
    entry = await AuditEntry.filter(action="demo.seeded").order_by("-id").first()
    assert entry is not None
    assert (entry.actor, entry.object_type, entry.object_id) == ("seed", "database", "demo")
    assert entry.detail == {
        "enterprises": 50,
        "records": 2000,
        "seed": SEED,
        "today": "2025-06-30",
        "fingerprint": result.fingerprint,
    }
    assert await demo_fingerprint() == result.fingerprint
    assert await verify_audit_chain() == []


async def test_the_seed_command_twice_gives_the_same_data_and_skips_when_asked(
    database_url, tmp_path
):
    def seed(*extra: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
        }
        argv = [sys.executable, "run.py", "seed", "--quiet", *extra]
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)

    args = ("--enterprises", "30", "--records", "300", "--seed", "7")
    first, second = seed(*args), seed(*args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith("seeded:") and second.stdout.startswith("unchanged:")
    assert first.stdout.split("fingerprint ")[1] == second.stdout.split("fingerprint ")[1]
    other = seed("--enterprises", "30", "--records", "300", "--seed", "8")
    assert other.returncode == 2 and "错误" in other.stderr
    skipped = seed("--if-empty")
    assert skipped.returncode == 0 and "跳过" in skipped.stdout
