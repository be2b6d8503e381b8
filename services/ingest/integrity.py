"""`audit verify` for records: recompute the version log's chain and every record's content hash,
and name each row that was changed without going through ingestion."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from models.audit import AuditEntry
from models.record_version import RecordVersion
from services.ingest.chain import GENESIS, chain_time, version_entry_hash
from services.ingest.content import sha256_hex
from services.ingest.push import BATCH_ACTION
from services.ingest.store import CONTENT_COLUMNS, CONTENT_JOINS, content_from_columns

_PAGE = 5_000


@dataclass(frozen=True)
class RecordBreak:
    """A record or log entry whose stored data no longer matches its hashes."""

    reason: str
    record_id: int | None = None
    entry_id: int | None = None
    department: str | None = None
    source_ref: str | None = None

    def describe(self) -> str:
        parts = []
        if self.record_id is not None:
            who = f"{self.department} / {self.source_ref}" if self.department else "?"
            parts.append(f"记录 #{self.record_id}（{who}）")
        if self.entry_id is not None:
            parts.append(f"版本日志第 {self.entry_id} 条")
        return "，".join(parts) + "：" + self.reason


@dataclass
class RecordChainReport:
    entries: int = 0  # entries in the version log
    records: int = 0  # records checked
    unchained: int = 0  # records loaded outside ingestion (the demo seed): hash checked only
    breaks: list[RecordBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify_record_chain() -> RecordChainReport:
    """Recompute the version log and every record; each mismatch is returned as a RecordBreak."""
    conn = connections.get("default")
    report = RecordChainReport()
    await _check_log(report)
    await _check_deleted(conn, report)
    await _check_records(conn, report)
    await _check_anchors(report)
    await _name_records(conn, report)
    return report


async def _check_log(report: RecordChainReport) -> None:
    prev_id, prev_hash = 0, GENESIS
    async for entry in _log_entries():
        entry_id, record_id, version, content, content_hash, recorded_at, link, digest = entry
        report.entries += 1

        def brk(reason: str, record_id: int = record_id, entry_id: int = entry_id) -> None:
            report.breaks.append(RecordBreak(reason, record_id, entry_id))

        if entry_id != prev_id + 1:
            brk(f"版本日志不连续：第 {prev_id + 1} 至 {entry_id - 1} 条缺失（被删除）")
        if link != prev_hash:
            brk("链接断开：所记上一条哈希与上一条不符")
        elif digest != version_entry_hash(
            link, entry_id, record_id, version, content_hash, chain_time(recorded_at)
        ):
            brk("版本日志条目被改动：哈希不符")
        if sha256_hex(content) != content_hash:
            brk("版本内容被改动：与其内容哈希不符")
        prev_id, prev_hash = entry_id, digest


async def _log_entries() -> AsyncIterator[tuple[Any, ...]]:
    last_id = 0
    while True:
        rows = (
            await RecordVersion.filter(id__gt=last_id)
            .order_by("id")
            .limit(_PAGE)
            .values_list(
                "id",
                "record_id",
                "version",
                "content",
                "content_hash",
                "recorded_at",
                "prev_hash",
                "hash",
            )
        )
        if not rows:
            return
        for row in rows:
            yield row
        last_id = rows[-1][0]


async def _check_deleted(conn: BaseDBAsyncClient, report: RecordChainReport) -> None:
    """Records the log knows of that are gone: named from the content the log kept."""
    _, rows = await conn.execute_query(
        'SELECT v."record_id", MAX(v."id") FROM "record_version" v'
        ' LEFT JOIN "record" r ON r."id" = v."record_id"'
        ' WHERE r."id" IS NULL GROUP BY v."record_id" ORDER BY v."record_id"'
    )
    for row in rows:
        record_id, entry_id = tuple(row)
        entry = await RecordVersion.get(id=entry_id)
        department, source_ref = json.loads(entry.content)[:2]
        report.breaks.append(
            RecordBreak(
                "记录已从数据库中删除，版本日志中仍有其历史",
                record_id,
                None,
                department,
                source_ref,
            )
        )


async def _check_records(conn: BaseDBAsyncClient, report: RecordChainReport) -> None:
    p = _placeholder(conn)
    sql = (
        f'SELECT r."id", r."content_hash", v."content_hash",'
        f' EXISTS (SELECT 1 FROM "record_version" w WHERE w."record_id" = r."id"),'
        f" {CONTENT_COLUMNS}"
        f' FROM "record" r {CONTENT_JOINS}'
        f' LEFT JOIN "record_version" v ON v."record_id" = r."id" AND v."version" = r."version"'
        f' WHERE r."id" > {p(1)} ORDER BY r."id" LIMIT {_PAGE}'
    )
    last_id = 0
    while True:
        _, rows = await conn.execute_query(sql, [last_id])
        if not rows:
            return
        for row in rows:
            values = tuple(row)
            record_id, stored, logged, has_log = values[0], values[1], values[2], values[3]
            content = values[4:]
            report.records += 1
            name = {"department": content[0], "source_ref": content[1]}
            if sha256_hex(content_from_columns(content)) != stored:
                report.breaks.append(
                    RecordBreak(
                        "记录内容与其内容哈希不符：数据库中的数据未经接口被直接改动",
                        record_id,
                        **name,
                    )
                )
            elif logged is None and has_log:
                report.breaks.append(
                    RecordBreak("记录的当前版本不在版本日志中：版本号被直接改动", record_id, **name)
                )
            elif logged is None:
                report.unchained += 1
            elif logged != stored:
                report.breaks.append(
                    RecordBreak(
                        "记录与版本日志中的当前版本不符：数据未经接口被直接改动",
                        record_id,
                        **name,
                    )
                )
        last_id = tuple(rows[-1])[0]


async def _check_anchors(report: RecordChainReport) -> None:
    """Each batch wrote the log's head into the audit trail: the log must still hold it."""
    anchors = await AuditEntry.filter(action=BATCH_ACTION).values_list("object_id", "detail")
    wanted = {
        int(d["chain_head_id"]): (batch, d["chain_head_hash"])
        for batch, d in anchors
        if isinstance(d, dict) and "chain_head_id" in d
    }
    if not wanted:
        return
    found = dict(await RecordVersion.filter(id__in=list(wanted)).values_list("id", "hash"))
    for entry_id, (batch, digest) in sorted(wanted.items()):
        if found.get(entry_id) != digest:
            report.breaks.append(
                RecordBreak(
                    f"批次 {batch} 写入审计日志的链头与版本日志不符：版本日志被截断或重写",
                    entry_id=entry_id,
                )
            )


async def _name_records(conn: BaseDBAsyncClient, report: RecordChainReport) -> None:
    """Department and source_ref for the breaks found in the log, which carry only ids."""
    ids = sorted({b.record_id for b in report.breaks if b.record_id and not b.department})
    if not ids:
        return
    p = _placeholder(conn)
    names: dict[int, tuple[str, str]] = {}
    for record_id in ids:
        _, rows = await conn.execute_query(
            'SELECT d."code", r."source_ref" FROM "record" r'
            ' JOIN "department" d ON d."id" = r."department_id"'
            f' WHERE r."id" = {p(1)}',
            [record_id],
        )
        if rows:
            names[record_id] = (tuple(rows[0])[0], tuple(rows[0])[1])
    report.breaks = [
        RecordBreak(b.reason, b.record_id, b.entry_id, *names[b.record_id])
        if b.record_id in names and not b.department
        else b
        for b in report.breaks
    ]


def _placeholder(conn: BaseDBAsyncClient) -> Any:
    if conn.capabilities.dialect == "postgres":
        return lambda n: f"${n}"
    return lambda n: "?"
