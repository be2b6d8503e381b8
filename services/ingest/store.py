"""Writing a chunk of validated rows: upsert by (department, source_ref), versions, chain.

One chunk is one transaction: its records, their version entries and the batch's counts are
committed together or not at all.

Concurrency. Record writes are optimistic: a chunk reads which of its source_refs exist, then
inserts the new ones (the unique index on (department, source_ref) refuses a second insert)
and updates the changed ones only where the content hash and version are still the ones it
read. If another writer got in between, the transaction is rolled back and the chunk run again:
it then finds the other writer's rows, and pushes of identical content come out "unchanged".
Appending to the version log is serialised: on PostgreSQL by an advisory lock taken just before
the log's head is read, held to commit; on SQLite by the database's write lock, which the
chunk's first statement takes. So the log never forks, and chunks of other pushes write their
records in parallel meanwhile.

The work is a handful of bulk statements per chunk, not a query per row: COPY and unnest()
arrays on PostgreSQL, executemany and json_each() on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.timezone import localtime
from tortoise.transactions import in_transaction

from services.ingest.chain import (
    GENESIS,
    LOG_COLUMNS,
    PG_LOCK_KEY,
    ChainedEntry,
    VersionEntry,
    chain,
)
from services.ingest.content import canonical_content, sha256_hex
from services.ingest.validate import ValidRow

_ATTEMPTS = 6

# A record's content as stored, in canonical order; shared with `audit verify`.
CONTENT_COLUMNS = (
    'd."code", r."source_ref", e."uscc", r."domain_id", r."kind", r."decision_no", '
    'r."authority", r."decision_date", r."summary", r."status", r."procedure", r."status_date"'
)
CONTENT_JOINS = (
    'JOIN "enterprise" e ON e."id" = r."enterprise_id" '
    'JOIN "department" d ON d."id" = r."department_id"'
)


RECORD_COPY_COLUMNS = [
    "id", "enterprise_id", "domain_id", "department_id", "source_ref", "kind", "decision_no",
    "authority", "decision_date", "summary", "status", "version", "content_hash", "pushed_at",
    "procedure", "status_date",
]  # fmt: skip


def content_from_columns(values: Sequence[Any]) -> str:
    """Canonical content from CONTENT_COLUMNS as read back (dates come back as date or text)."""
    out = list(values)
    day = out[7]
    out[7] = day.isoformat() if isinstance(day, date) else str(day)[:10]
    out[3] = int(out[3])
    return canonical_content(out)


@dataclass
class ChunkOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    head: tuple[int, str] | None = None  # the version log's last (id, hash), if we appended


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    content_hash: str
    version: int
    chained: bool  # its current version is in the log (false for rows loaded by the demo seed)


async def enterprise_ids(usccs: list[str]) -> dict[str, int]:
    """The ids of the enterprises with these USCCs (unknown ones are left out)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        sql = (
            'SELECT e."uscc", e."id" FROM unnest($1::text[]) AS t(u)'
            ' JOIN "enterprise" e ON e."uscc" = t.u'
        )
        values: list[Any] = [usccs]
    else:
        sql = (
            'SELECT "uscc", "id" FROM "enterprise" WHERE "uscc" IN (SELECT value FROM json_each(?))'
        )
        values = [json.dumps(usccs)]
    _, rows = await conn.execute_query(sql, values)
    return {r[0]: r[1] for r in rows}


class _Retry(Exception):
    """Another writer changed these records between our read and our write."""


# Conflicts with a concurrent writer: the chunk's transaction is rolled back and run again,
# and then sees what the other writer committed.
_CONFLICTS: tuple[type[BaseException], ...] = (
    _Retry,
    IntegrityError,
    sqlite3.IntegrityError,
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


async def write_chunk(
    rows: list[ValidRow], *, department_id: int, batch_pk: int, now: datetime
) -> ChunkOutcome:
    """Upsert the rows in one transaction and append their versions to the log."""
    # Sorted, so that concurrent writers take row locks in one order and cannot deadlock.
    rows = sorted(rows, key=lambda r: r.source_ref)
    for attempt in range(_ATTEMPTS):
        try:
            async with in_transaction() as tx:
                return await _write(tx, rows, department_id, batch_pk, now)
        except _CONFLICTS:
            if attempt == _ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise AssertionError("unreachable")  # pragma: no cover


async def _write(
    tx: BaseDBAsyncClient,
    rows: list[ValidRow],
    department_id: int,
    batch_pk: int,
    now: datetime,
) -> ChunkOutcome:
    store: _Store = _Postgres(tx) if tx.capabilities.dialect == "postgres" else _Sqlite(tx)
    async with tx.acquire_connection() as raw:
        store.raw = raw
        await store.begin(batch_pk)
        existing = await store.existing(department_id, [r.source_ref for r in rows])
        outcome = ChunkOutcome()
        new: list[ValidRow] = []
        changed: list[tuple[ValidRow, _Existing]] = []
        for row in rows:
            old = existing.get(row.source_ref)
            if old is None:
                new.append(row)
            elif old.content_hash == row.content_hash:
                outcome.unchanged += 1
            else:
                changed.append((row, old))
        outcome.created, outcome.updated = len(new), len(changed)
        if new or changed:
            entries = await _entries(store, department_id, new, changed, now)
            # Only the append to the log is serialised; the record writes above run in
            # parallel with other chunks' (a conflict between them is retried).
            await store.lock_log()
            head_id, head_hash = await store.chain_head()
            chained = chain(entries, head_id, head_hash, now, batch_pk)
            await store.insert_versions(chained)
            outcome.head = (chained[-1].id, chained[-1].hash)
        await store.add_counts(batch_pk, outcome)
        return outcome


async def _entries(
    store: _Store,
    department_id: int,
    new: list[ValidRow],
    changed: list[tuple[ValidRow, _Existing]],
    now: datetime,
) -> list[VersionEntry]:
    entries: list[VersionEntry] = []
    # A record loaded outside this path (the demo seed) has no entry for its current version:
    # log that content first, so that the history keeps what the update replaces.
    legacy = [old.id for _, old in changed if not old.chained]
    if legacy:
        for record_id, version, content in await store.contents(legacy):
            entries.append(VersionEntry(record_id, version, content, sha256_hex(content)))
    if new:
        ids = await store.insert_records(department_id, new, now)
        if len(ids) != len(new):
            raise _Retry
        for row in new:
            entries.append(VersionEntry(ids[row.source_ref], 1, row.content, row.content_hash))
    if changed:
        if await store.update_records(changed) != len(changed):
            raise _Retry
        for row, old in changed:
            entries.append(VersionEntry(old.id, old.version + 1, row.content, row.content_hash))
    return entries


class _Store:
    raw: Any

    def __init__(self, tx: BaseDBAsyncClient) -> None:
        self.tx = tx

    async def begin(self, batch_pk: int) -> None:
        """Called first in the chunk's transaction."""

    async def lock_log(self) -> None:
        """Called before the version log's head is read; held until commit."""

    async def existing(self, department_id: int, refs: list[str]) -> dict[str, _Existing]:
        raise NotImplementedError

    async def contents(self, record_ids: list[int]) -> list[tuple[int, int, str]]:
        raise NotImplementedError

    async def insert_records(
        self, department_id: int, rows: list[ValidRow], now: datetime
    ) -> dict[str, int]:
        raise NotImplementedError

    async def update_records(self, changed: list[tuple[ValidRow, _Existing]]) -> int:
        raise NotImplementedError

    async def chain_head(self) -> tuple[int, str]:
        raise NotImplementedError

    async def insert_versions(self, entries: list[ChainedEntry]) -> None:
        raise NotImplementedError

    async def add_counts(self, batch_pk: int, outcome: ChunkOutcome) -> None:
        raise NotImplementedError


class _Postgres(_Store):
    async def lock_log(self) -> None:
        await self.raw.execute("SELECT pg_advisory_xact_lock($1)", PG_LOCK_KEY)

    async def existing(self, department_id: int, refs: list[str]) -> dict[str, _Existing]:
        # A join on unnest() rather than "= ANY($2)": under a generic plan (asyncpg prepares
        # statements) ANY scans the array for every row, quadratic in the chunk size.
        rows = await self.raw.fetch(
            'SELECT r."id", r."source_ref", r."content_hash", r."version", v."id" IS NOT NULL'
            " FROM unnest($2::text[]) AS t(ref)"
            ' JOIN "record" r ON r."department_id" = $1 AND r."source_ref" = t.ref'
            ' LEFT JOIN "record_version" v ON v."record_id" = r."id" AND v."version" = r."version"',
            department_id,
            refs,
        )
        return {r[1]: _Existing(r[0], r[2], r[3], r[4]) for r in rows}

    async def contents(self, record_ids: list[int]) -> list[tuple[int, int, str]]:
        rows = await self.raw.fetch(
            f'SELECT r."id", r."version", {CONTENT_COLUMNS} FROM "record" r {CONTENT_JOINS}'
            ' WHERE r."id" = ANY($1::bigint[]) ORDER BY r."id"',
            record_ids,
        )
        return [(r[0], r[1], content_from_columns(list(r)[2:])) for r in rows]

    async def insert_records(
        self, department_id: int, rows: list[ValidRow], now: datetime
    ) -> dict[str, int]:
        # COPY, the fastest way in: under the lock these source_refs are known to be new. A
        # writer that bypassed the lock would make it fail on the unique index, and the chunk
        # is retried. COPY returns no ids, so they are drawn from the sequence first.
        ids = [
            r[0]
            for r in await self.raw.fetch(
                "SELECT nextval(pg_get_serial_sequence('record', 'id'))"
                " FROM generate_series(1, $1)",
                len(rows),
            )
        ]
        await self.raw.copy_records_to_table(
            "record",
            columns=RECORD_COPY_COLUMNS,
            records=[
                (
                    record_id,
                    r.enterprise_id,
                    r.domain,
                    department_id,
                    r.source_ref,
                    r.kind,
                    r.decision_no,
                    r.authority,
                    r.decision_date,
                    r.summary,
                    r.status,
                    1,
                    r.content_hash,
                    now,
                    r.procedure,
                    r.status_date,
                )
                for record_id, r in zip(ids, rows, strict=True)
            ],  # fmt: skip
        )
        return {r.source_ref: record_id for record_id, r in zip(ids, rows, strict=True)}

    async def update_records(self, changed: list[tuple[ValidRow, _Existing]]) -> int:
        # pushed_at stays: it is when the record first arrived, which the 7-working-day rule
        # measures. Each version's own time is in the log.
        status = await self.raw.execute(
            'UPDATE "record" AS r SET "enterprise_id" = t.e, "domain_id" = t.d, "kind" = t.k,'
            ' "decision_no" = t.n, "authority" = t.a, "decision_date" = t.dd, "summary" = t.sm,'
            ' "status" = t.st, "version" = r."version" + 1, "content_hash" = t.h,'
            ' "procedure" = t.pr, "status_date" = t.sd'
            " FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[],"
            "             $7::date[], $8::text[], $9::text[], $10::text[], $11::text[],"
            "             $12::int[], $13::text[], $14::date[])"
            "   AS t(id, e, d, k, n, a, dd, sm, st, h, old, v, pr, sd)"
            ' WHERE r."id" = t.id AND r."content_hash" = t.old AND r."version" = t.v',
            [old.id for _, old in changed],
            [r.enterprise_id for r, _ in changed],
            [r.domain for r, _ in changed],
            [r.kind for r, _ in changed],
            [r.decision_no for r, _ in changed],
            [r.authority for r, _ in changed],
            [r.decision_date for r, _ in changed],
            [r.summary for r, _ in changed],
            [r.status for r, _ in changed],
            [r.content_hash for r, _ in changed],
            [old.content_hash for _, old in changed],
            [old.version for _, old in changed],
            [r.procedure for r, _ in changed],
            [r.status_date for r, _ in changed],
        )
        return int(status.split()[-1])

    async def chain_head(self) -> tuple[int, str]:
        row = await self.raw.fetchrow(
            'SELECT "id", "hash" FROM "record_version" ORDER BY "id" DESC LIMIT 1'
        )
        return (row[0], row[1]) if row else (0, GENESIS)

    async def insert_versions(self, entries: list[ChainedEntry]) -> None:
        await self.raw.copy_records_to_table("record_version", columns=LOG_COLUMNS, records=entries)

    async def add_counts(self, batch_pk: int, outcome: ChunkOutcome) -> None:
        await self.raw.execute(
            'UPDATE "ingest_batch" SET "status" = \'writing\', "created" = "created" + $2,'
            ' "updated" = "updated" + $3, "unchanged" = "unchanged" + $4 WHERE "id" = $1',
            batch_pk,
            outcome.created,
            outcome.updated,
            outcome.unchanged,
        )


class _Sqlite(_Store):
    async def begin(self, batch_pk: int) -> None:
        # A write first: SQLite takes its write lock now (waiting out another process's
        # transaction), so nothing read below can change before this transaction commits.
        await self.raw.execute(
            'UPDATE "ingest_batch" SET "status" = \'writing\' WHERE "id" = ?', (batch_pk,)
        )

    async def existing(self, department_id: int, refs: list[str]) -> dict[str, _Existing]:
        rows = await self.raw.execute_fetchall(
            'SELECT r."id", r."source_ref", r."content_hash", r."version", EXISTS ('
            '  SELECT 1 FROM "record_version" v'
            '  WHERE v."record_id" = r."id" AND v."version" = r."version")'
            ' FROM "record" r WHERE r."department_id" = ?'
            ' AND r."source_ref" IN (SELECT value FROM json_each(?))',
            (department_id, json.dumps(refs)),
        )
        return {r[1]: _Existing(r[0], r[2], r[3], bool(r[4])) for r in rows}

    async def contents(self, record_ids: list[int]) -> list[tuple[int, int, str]]:
        rows = await self.raw.execute_fetchall(
            f'SELECT r."id", r."version", {CONTENT_COLUMNS} FROM "record" r {CONTENT_JOINS}'
            ' WHERE r."id" IN (SELECT value FROM json_each(?)) ORDER BY r."id"',
            (json.dumps(record_ids),),
        )
        return [(r[0], r[1], content_from_columns(tuple(r)[2:])) for r in rows]

    async def insert_records(
        self, department_id: int, rows: list[ValidRow], now: datetime
    ) -> dict[str, int]:
        pushed_at = _sqlite_datetime(now)
        await self.raw.executemany(
            'INSERT INTO "record" ("enterprise_id", "domain_id", "department_id", "source_ref",'
            ' "kind", "decision_no", "authority", "decision_date", "summary", "status",'
            ' "version", "content_hash", "pushed_at", "procedure", "status_date")'
            " VALUES (?,?,?,?,?,?,?,?,?,?,1,?,?,?,?)",
            [
                (
                    r.enterprise_id,
                    r.domain,
                    department_id,
                    r.source_ref,
                    r.kind,
                    r.decision_no,
                    r.authority,
                    r.decision_date.isoformat(),
                    r.summary,
                    r.status,
                    r.content_hash,
                    pushed_at,
                    r.procedure,
                    r.status_date.isoformat() if r.status_date else None,
                )
                for r in rows
            ],
        )
        found = await self.raw.execute_fetchall(
            'SELECT "id", "source_ref" FROM "record" WHERE "department_id" = ?'
            ' AND "source_ref" IN (SELECT value FROM json_each(?))',
            (department_id, json.dumps([r.source_ref for r in rows])),
        )
        return {r[1]: r[0] for r in found}

    async def update_records(self, changed: list[tuple[ValidRow, _Existing]]) -> int:
        cursor = await self.raw.executemany(
            'UPDATE "record" SET "enterprise_id" = ?, "domain_id" = ?, "kind" = ?,'
            ' "decision_no" = ?, "authority" = ?, "decision_date" = ?, "summary" = ?,'
            ' "status" = ?, "version" = "version" + 1, "content_hash" = ?, "procedure" = ?,'
            ' "status_date" = ? WHERE "id" = ? AND "content_hash" = ? AND "version" = ?',
            [
                (
                    r.enterprise_id,
                    r.domain,
                    r.kind,
                    r.decision_no,
                    r.authority,
                    r.decision_date.isoformat(),
                    r.summary,
                    r.status,
                    r.content_hash,
                    r.procedure,
                    r.status_date.isoformat() if r.status_date else None,
                    old.id,
                    old.content_hash,
                    old.version,
                )
                for r, old in changed
            ],
        )
        return int(cursor.rowcount)

    async def chain_head(self) -> tuple[int, str]:
        rows = await self.raw.execute_fetchall(
            'SELECT "id", "hash" FROM "record_version" ORDER BY "id" DESC LIMIT 1'
        )
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS)

    async def insert_versions(self, entries: list[ChainedEntry]) -> None:
        recorded_at = _sqlite_datetime(entries[0].recorded_at)
        await self.raw.executemany(
            f'INSERT INTO "record_version" ({_quoted(LOG_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?)',
            [e._replace(recorded_at=recorded_at) for e in entries],
        )

    async def add_counts(self, batch_pk: int, outcome: ChunkOutcome) -> None:
        await self.raw.execute(
            'UPDATE "ingest_batch" SET "created" = "created" + ?, "updated" = "updated" + ?,'
            ' "unchanged" = "unchanged" + ? WHERE "id" = ?',
            (outcome.created, outcome.updated, outcome.unchanged, batch_pk),
        )


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _sqlite_datetime(value: datetime) -> str:
    # The text Tortoise itself stores: local time with its offset.
    return localtime(value).isoformat(" ")
