"""The record version log's hash chain (RFC 6962 in spirit: an append-only log whose every entry
commits to all before it).

Entry n's hash covers entry n-1's hash, its own position, the record, the version number, the
content hash and the time it was recorded. Changing, inserting or deleting any entry breaks every
later link; the chain head is also written into the audit trail after each batch, so that cutting
off the tail shows too.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import NamedTuple

GENESIS = "0" * 64
# Any constant works: it serialises appends to the version log on PostgreSQL.
PG_LOCK_KEY = 0x59_43_52_56  # "YCRV"


def chain_time(moment: datetime) -> str:
    """How a log entry's time enters its hash: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_entry_hash(
    prev_hash: str,
    entry_id: int,
    record_id: int,
    version: int,
    content_hash: str,
    recorded_at: str,
) -> str:
    """sha256 (hex) of one log entry, chained to the previous entry's hash; recorded_at is
    chain_time() of the entry's time."""
    payload = f"{prev_hash}|{entry_id}|{record_id}|{version}|{content_hash}|{recorded_at}"
    return hashlib.sha256(payload.encode()).hexdigest()


class VersionEntry(NamedTuple):
    """One entry to append: everything but its position and hashes, which chain() assigns."""

    record_id: int
    version: int
    content: str
    content_hash: str


class ChainedEntry(NamedTuple):
    """One row of the version log, in the table's column order (ready for COPY)."""

    id: int
    record_id: int
    version: int
    content: str
    content_hash: str
    batch_id: int | None
    recorded_at: datetime
    prev_hash: str
    hash: str


LOG_COLUMNS = list(ChainedEntry._fields)


def chain(
    entries: list[VersionEntry],
    head_id: int,
    head_hash: str,
    recorded_at: datetime,
    batch_id: int | None = None,
) -> list[ChainedEntry]:
    """Positions and hashes for entries appended after the head (id, hash) of the log."""
    out: list[ChainedEntry] = []
    prev, position = head_hash, head_id
    at = chain_time(recorded_at)
    sha256 = hashlib.sha256
    for record_id, version, content, content_hash in entries:
        position += 1
        digest = sha256(
            f"{prev}|{position}|{record_id}|{version}|{content_hash}|{at}".encode()
        ).hexdigest()
        out.append(
            ChainedEntry(
                position,
                record_id,
                version,
                content,
                content_hash,
                batch_id,
                recorded_at,
                prev,
                digest,
            )  # fmt: skip
        )
        prev = digest
    return out
