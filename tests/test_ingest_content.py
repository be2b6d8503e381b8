"""The content hash: one canonical form, whichever way it is computed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.ingest.chain import GENESIS, VersionEntry, chain, version_entry_hash
from services.ingest.content import (
    canonical_content,
    canonical_record_content,
    record_content_hash,
    sha256_hex,
)

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(TEXT, TEXT, TEXT, st.integers(1, 40), TEXT, TEXT, TEXT, TEXT, TEXT)
def test_the_fast_canonical_form_is_the_canonical_json_exactly(
    ref, uscc, kind, domain, number, authority, day, summary, status
):
    values = ["samr", ref, uscc, domain, kind, number, authority, day, summary, status]
    assert canonical_record_content(*values) == canonical_content(values)


def test_quotes_backslashes_and_chinese_survive_unescaped_where_json_allows():
    values = ["samr", 'R"1', "U\\1", 27, "k", "渝市监罚〔2024〕1号", "局", "2024-03-15",
              "摘要\n", "s"]  # fmt: skip
    text = canonical_record_content(*values)
    assert text == canonical_content(values)
    assert '"R\\"1"' in text and "渝市监罚〔2024〕1号" in text and "\\n" in text


def test_the_record_hash_is_the_sha256_of_the_canonical_text():
    values = ["samr", "R-1", "91500103MA00000159", 27, "administrative_penalty", "渝1号", "局",
              "2024-03-15", "摘要", "in_force"]  # fmt: skip
    fields = dict(zip(
        ["department", "source_ref", "uscc", "domain", "kind", "decision_no", "authority",
         "decision_date", "summary", "status"], values, strict=True,
    ))  # fmt: skip
    assert record_content_hash(**fields) == sha256_hex(canonical_content(values))


def test_a_stated_procedure_joins_the_content_and_an_unstated_one_keeps_the_old_hash():
    fields = {"department": "samr", "source_ref": "R-1", "uscc": "91500103MA00000159",
              "domain": 27, "kind": "administrative_penalty", "decision_no": "渝1号",
              "authority": "局", "decision_date": "2024-03-15", "summary": "摘要",
              "status": "in_force"}  # fmt: skip
    logged = record_content_hash(**fields)
    assert record_content_hash(**fields, procedure="unstated") == logged
    assert record_content_hash(**fields, procedure=None) == logged
    assert record_content_hash(**fields, procedure="ordinary") != logged
    assert record_content_hash(**fields, procedure="simple") != record_content_hash(
        **fields, procedure="ordinary"
    )
    values = [*fields.values(), "simple"]
    assert canonical_record_content(*values) == canonical_content(values)


def test_each_chain_entry_commits_to_the_one_before():
    from datetime import UTC, datetime

    at = datetime(2025, 3, 3, 2, tzinfo=UTC)
    entries = [VersionEntry(7, 1, "[]", sha256_hex("[]")), VersionEntry(8, 1, "[1]", "h")]
    first, second = chain(entries, 0, GENESIS, at)
    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert second.hash == version_entry_hash(first.hash, 2, 8, 1, "h", "2025-03-03T02:00:00Z")
    changed = chain([entries[0], VersionEntry(8, 1, "[1]", "other")], 0, GENESIS, at)
    assert changed[1].hash != second.hash and changed[0].hash == first.hash
