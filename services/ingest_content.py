"""A record's content in canonical form, and its content hash: the one definition of both.

Ingestion compares pushes by this hash (equal hash: "unchanged", no new version), the version
log stores the canonical text itself, and `audit verify` recomputes it from the stored columns.
The demo seed imports it from here, so that its records hash the way pushed ones do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from json.encoder import encode_basestring as _json_string  # type: ignore[attr-defined]
from typing import Any

# The fields a department pushes for each record, in the order of the CSV template.
ROW_FIELDS = (
    "uscc",
    "domain",
    "kind",
    "decision_no",
    "authority",
    "decision_date",
    "summary",
    "status",
    "source_ref",
)

# A penalty's procedure joins the content only when the department stated it: rows stored before
# the field existed (未注明) keep the hash they were logged under.
STATED_PROCEDURES = frozenset({"ordinary", "simple"})

_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_content(values: Sequence[Any]) -> str:
    """The compact JSON array (no ASCII escaping) of a record's content values, in order:
    department code, source_ref, USCC, domain number, kind, decision_no, authority,
    decision_date (ISO), summary, status, and the penalty procedure when one is stated."""
    values = list(values)
    if len(values) > 10 and values[10] not in STATED_PROCEDURES:
        del values[10:]
    return _CANONICAL_JSON.encode(values)


def canonical_record_content(
    department: str,
    source_ref: str,
    uscc: str,
    domain: int,
    kind: str,
    decision_no: str,
    authority: str,
    decision_date: str,
    summary: str,
    status: str,
    procedure: str | None = None,
) -> str:
    """canonical_content() of one record, spelt out: the same text, in a third of the time
    (ingestion computes it for every row). A test holds the two equal."""
    q = _json_string
    tail = f",{q(procedure)}]" if procedure in STATED_PROCEDURES else "]"
    return (
        f"[{q(department)},{q(source_ref)},{q(uscc)},{int(domain)},{q(kind)},{q(decision_no)},"
        f"{q(authority)},{q(decision_date)},{q(summary)},{q(status)}{tail}"
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash_of(values: Sequence[Any]) -> str:
    """sha256 (hex) of canonical_content(values)."""
    return sha256_hex(canonical_content(values))


def record_content_hash(
    *,
    department: str,
    source_ref: str,
    uscc: str,
    domain: int,
    kind: str,
    decision_no: str,
    authority: str,
    decision_date: date | str,
    summary: str,
    status: str,
    procedure: str | None = None,
) -> str:
    """sha256 (hex) of a record's canonical content, as a department would push it.

    The canonical form is the compact JSON array (UTF-8, no ASCII escaping) of, in this order:
    department code, source_ref, USCC, domain number, kind, decision_no, authority,
    decision_date (ISO), summary, status, then the penalty procedure when one is stated.
    """
    day = decision_date.isoformat() if isinstance(decision_date, date) else decision_date
    return content_hash_of(
        [department, source_ref, uscc, domain, kind, decision_no, authority, day, summary, status,
         procedure]
    )  # fmt: skip
