"""Pieces of issuing: span and domain checks, snapshot assembly, signatures, links, storage."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.rule_sets import CQ_2024_89 as RULES
from infra.storage import LocalStorage
from models.catalogue import Department
from models.enterprise import Enterprise, EnterpriseRelation
from models.enums import RecordKind, RecordStatus, RelationKind
from models.record import Record
from services.errors import InvalidRequest
from services.reports.signing import SnapshotSigner, link_is_valid, sign_link, verify_snapshot
from services.reports.snapshot import (
    assemble_sections,
    canonical_json,
    records_fingerprint,
    related_enterprises,
    sha256_hex,
)
from services.reports.span import Span, check_domains, check_span

TODAY = date(2026, 11, 27)
SEED = base64.b64encode(bytes(range(32))).decode()


def test_the_default_span_is_the_last_three_years():
    assert check_span(None, None, TODAY) == Span(date(2023, 11, 28), TODAY)


def test_the_default_span_never_starts_before_2020():
    assert check_span(None, "2021-06-30", TODAY).start == date(2020, 1, 1)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("2019-12-31", "2021-01-01", "span_before_2020"),
        ("2021-01-01", "2026-11-28", "span_in_future"),
        ("2022-01-01", "2021-01-01", "span_reversed"),
        ("2022/01/01", None, "invalid_date"),
    ],
)
def test_spans_outside_2020_to_today_are_refused_in_chinese(start, end, code):
    with pytest.raises(InvalidRequest) as err:
        check_span(start, end, TODAY)
    assert err.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)


def test_domains_accept_all_lists_and_comma_text():
    assert check_domains(None) == list(range(1, 41))
    assert check_domains("all") == list(range(1, 41))
    assert check_domains("7，1,5,5") == [1, 5, 7]
    assert check_domains([40, "3"]) == [3, 40]


@pytest.mark.parametrize("bad", [[0], [41], ["环保"], "1,x"])
def test_unknown_domains_are_refused(bad):
    with pytest.raises(InvalidRequest) as err:
        check_domains(bad)
    assert err.value.code == "unknown_domain" and "1至40" in err.value.message


def test_a_snapshot_signature_covers_the_canonical_bytes_and_the_legacy_one_their_digest():
    signer = SnapshotSigner(SEED)
    canonical = canonical_json({"a": 1, "企业": "重庆"})
    signature = signer.sign(canonical)
    assert verify_snapshot(signer.public_key, canonical, signature, legacy=False)
    assert not verify_snapshot(signer.public_key, canonical + b" ", signature, legacy=False)
    assert not verify_snapshot(signer.public_key, canonical, signature, legacy=True)
    # Reports from before key ids: the signature is over the raw 32-byte SHA-256.
    legacy = signer.sign(bytes.fromhex(sha256_hex(canonical)))
    assert verify_snapshot(signer.public_key, canonical, legacy, legacy=True)
    assert len(signer.key_id) == 16 and "BEGIN PUBLIC KEY" in signer.public_key_pem()


@given(st.dictionaries(st.text(min_size=1), st.integers() | st.text(), min_size=1))
def test_changing_any_field_changes_the_signed_digest(doc):
    original = sha256_hex(canonical_json(doc))
    key = sorted(doc)[0]
    changed = {**doc, key: [doc[key]]}
    assert sha256_hex(canonical_json(changed)) != original
    assert sha256_hex(canonical_json(dict(reversed(list(doc.items()))))) == original


def test_download_links_expire_and_resist_tampering():
    sig = sign_link("k", "/r/YX1.pdf", 2000)
    assert link_is_valid("k", "/r/YX1.pdf", "2000", sig, now=1999)
    assert not link_is_valid("k", "/r/YX1.pdf", "2000", sig, now=2001)
    assert not link_is_valid("k", "/r/YX2.pdf", "2000", sig, now=1999)
    assert not link_is_valid("k", "/r/YX1.pdf", "2001", sig, now=1999)
    assert not link_is_valid("other", "/r/YX1.pdf", "2000", sig, now=1999)


def test_storage_refuses_names_outside_its_root(tmp_path: Path):
    storage = LocalStorage(tmp_path / "reports")
    storage.put("YX1.pdf", b"%PDF")
    assert storage.get("YX1.pdf") == b"%PDF"
    with pytest.raises(ValueError):
        storage.put("../escape.pdf", b"x")


async def _enterprise(uscc: str, name: str) -> Enterprise:
    return await Enterprise.create(
        uscc=uscc, name=name, legal_rep_name="张三", legal_rep_id_hash="h", district="渝中区"
    )


async def _record(ent: Enterprise, domain: int, day: date, status: RecordStatus, ref: str) -> None:
    dept = await Department.get(code="ecology" if domain == 15 else "tax")
    await Record.create(
        enterprise=ent, domain_id=domain, department=dept, source_ref=ref,
        kind=RecordKind.ADMINISTRATIVE_PENALTY, decision_no=f"渝环罚〔2023〕{ref}号",
        authority="重庆市生态环境局", decision_date=day, summary="超标排放", status=status,
        content_hash="x", pushed_at=datetime.now(UTC),
    )  # fmt: skip


async def test_sections_list_records_in_span_hide_revoked_and_keep_repaired(db):
    main = await _enterprise("91500103MA5U0000X0", "重庆甲科技有限公司")
    child = await _enterprise("91500105MA5U0000X1", "重庆甲科技有限公司江北分公司")
    await EnterpriseRelation.create(parent=main, child=child, kind=RelationKind.BRANCH)
    await _record(main, 15, date(2023, 5, 1), RecordStatus.IN_FORCE, "1")
    await _record(main, 15, date(2023, 6, 1), RecordStatus.REPAIRED, "2")
    await _record(main, 15, date(2023, 7, 1), RecordStatus.REVOKED, "3")
    await _record(main, 15, date(2019, 7, 1), RecordStatus.IN_FORCE, "4")
    await _record(child, 37, date(2024, 1, 1), RecordStatus.IN_FORCE, "5")
    related = await related_enterprises(main)
    assert [(e.name, k) for e, k in related] == [
        ("重庆甲科技有限公司江北分公司", RelationKind.BRANCH)
    ]
    span = Span(date(2020, 1, 1), TODAY)
    as_of = {15: date(2026, 11, 20), 37: None}
    sections = await assemble_sections(main, related, [15, 37], span, as_of, RULES, TODAY)
    assert [s["relation"] for s in sections] == [None, "branch"]
    eco = sections[0]["domains"][0]
    assert eco["number"] == 15 and eco["data_as_of"] == "2026-11-20"
    assert [r["status"] for r in eco["records"]] == ["in_force", "repaired"]
    assert (
        sections[0]["domains"][1]["records"] == []
        and sections[0]["domains"][1]["data_as_of"] is None
    )
    assert len(sections[1]["domains"][1]["records"]) == 1
    # The fingerprint ignores data-as-of dates but not records.
    later = await assemble_sections(
        main, related, [15, 37], span, {15: TODAY, 37: TODAY}, RULES, TODAY
    )
    assert records_fingerprint(later) == records_fingerprint(sections)
    await _record(main, 15, date(2023, 8, 1), RecordStatus.IN_FORCE, "6")
    changed = await assemble_sections(main, related, [15, 37], span, as_of, RULES, TODAY)
    assert records_fingerprint(changed) != records_fingerprint(sections)


_JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


@given(_JSON_VALUES)
def test_canonical_json_is_byte_for_byte_the_standard_librarys(value: object) -> None:
    """Reports signed before the switch to orjson must keep verifying: the bytes cannot move."""
    import json

    try:
        expected = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        expected_bytes = expected.encode()
    except UnicodeEncodeError:  # lone surrogates cannot be UTF-8 either way
        return
    assert canonical_json(value) == expected_bytes
