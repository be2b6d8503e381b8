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

# Two optional fields follow the ten: a penalty's procedure when the department stated it, and
# the date a status change took effect. Each joins the content only when given (a missing
# procedure between them is null), so rows stored before the fields existed, and rows without
# them, keep the hash they were logged under.
STATED_PROCEDURES = frozenset({"ordinary", "simple"})

_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_content(values: Sequence[Any]) -> str:
    """The compact JSON array (no ASCII escaping) of a record's content values, in order:
    department code, source_ref, USCC, domain number, kind, decision_no, authority,
    decision_date (ISO), summary, status; then the stated penalty procedure and the status date
    (ISO), each when given."""
    values = list(values)
    extra = values[10:] + [None] * (12 - len(values[:12]))
    procedure = extra[0] if extra[0] in STATED_PROCEDURES else None
    status_date = extra[1].isoformat() if isinstance(extra[1], date) else extra[1]
    tail = [procedure, status_date] if status_date else [procedure] if procedure else []
    return _CANONICAL_JSON.encode(values[:10] + tail)


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
    status_date: str | None = None,
) -> str:
    """canonical_content() of one record, spelt out: the same text, in a third of the time
    (ingestion computes it for every row). A test holds the two equal."""
    q = _json_string
    stated = q(procedure) if procedure in STATED_PROCEDURES else ""
    if status_date:
        tail = f",{stated or 'null'},{q(status_date)}]"
    else:
        tail = f",{stated}]" if stated else "]"
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
    status_date: date | str | None = None,
) -> str:
    """sha256 (hex) of a record's canonical content, as a department would push it.

    The canonical form is the compact JSON array (UTF-8, no ASCII escaping) of, in this order:
    department code, source_ref, USCC, domain number, kind, decision_no, authority,
    decision_date (ISO), summary, status; then the stated procedure and the status date, each
    when given.
    """
    day = decision_date.isoformat() if isinstance(decision_date, date) else decision_date
    return content_hash_of(
        [department, source_ref, uscc, domain, kind, decision_no, authority, day, summary, status,
         procedure, status_date]
    )  # fmt: skip
