"""Record search for a department's console (记录查询): its own records by USCC, decision number
or decision date, and one record's version history with the state of its hash chain."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from config.calendar import CHINA
from models.enums import RecordKind, RecordStatus
from models.record import Record
from models.record_version import RecordVersion
from services.errors import InvalidRequest, NotFound
from services.identity import normalise_uscc
from services.ingest.chain import chain_time, version_entry_hash
from services.ingest.content import sha256_hex

LIMIT = 50
# The positions in a version's canonical content (services.ingest.content.canonical_content).
CONTENT_FIELDS = {5: "decision_no", 6: "authority", 7: "decision_date", 8: "summary", 9: "status"}


def _summary(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "source_ref": record.source_ref,
        "enterprise": record.enterprise.name,
        "uscc": record.enterprise.uscc,
        "domain": record.domain_id,  # type: ignore[attr-defined]
        "kind": RecordKind(record.kind).label,
        "decision_no": record.decision_no,
        "authority": record.authority,
        "decision_date": record.decision_date.isoformat(),
        "summary": record.summary,
        "status": RecordStatus(record.status).label,
        "version": record.version,
    }


def _content(canonical: str) -> dict[str, Any]:
    values = json.loads(canonical)
    out = {name: values[i] for i, name in CONTENT_FIELDS.items() if i < len(values)}
    if "status" in out:
        out["status"] = RecordStatus(out["status"]).label
    return out


async def search_records(
    department_id: int, *, uscc: str = "", decision_no: str = "", decided_on: str = ""
) -> list[dict[str, Any]]:
    """The department's records matching every criterion given (at least one), newest first."""
    if not (uscc or decision_no or decided_on):
        return []
    query = Record.filter(department_id=department_id)
    if uscc:
        query = query.filter(enterprise__uscc=normalise_uscc(uscc))
    if decision_no:
        query = query.filter(decision_no__icontains=decision_no.strip()[:64])
    if decided_on:
        try:
            query = query.filter(decision_date=date.fromisoformat(decided_on))
        except ValueError:
            raise InvalidRequest("决定日期应为 YYYY-MM-DD", code="invalid_date") from None
    rows = await query.order_by("-decision_date", "-id").limit(LIMIT).select_related("enterprise")
    return [_summary(r) for r in rows]


async def record_history(department_id: int, record_id: int) -> dict[str, Any]:
    """One record of the department with every version and whether its chain holds: each entry's
    content hash and chained hash recomputed, its link to the entry before it, and the record's
    current content being the last version's. NotFound for another department's record."""
    record = await Record.get_or_none(id=record_id).select_related("enterprise")
    if record is None or record.department_id != department_id:  # type: ignore[attr-defined]
        raise NotFound("未找到该记录", code="record_not_found")
    versions = await RecordVersion.filter(record_id=record.id).order_by("version")
    previous = {
        v.id: v.hash
        for v in await RecordVersion.filter(id__in=[v.id - 1 for v in versions if v.id > 1])
    }
    problems: list[str] = []
    rows = []
    for v in versions:
        expected = version_entry_hash(v.prev_hash, v.id, v.record_id, v.version, v.content_hash,
                                      chain_time(v.recorded_at))  # fmt: skip
        if sha256_hex(v.content) != v.content_hash:
            problems.append(f"第 {v.version} 版内容与其哈希不符")
        if expected != v.hash:
            problems.append(f"第 {v.version} 版的链上哈希不符")
        if v.id > 1 and previous.get(v.id - 1) != v.prev_hash:
            problems.append(f"第 {v.version} 版与前一条日志的链接断开")
        rows.append({
            "version": v.version,
            "recorded_at": v.recorded_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
            **_content(v.content),
            "hash": v.hash,
        })  # fmt: skip
    if versions and versions[-1].content_hash != record.content_hash:
        problems.append("记录当前内容不是最新版本的内容")
    if versions and versions[-1].version != record.version:
        problems.append("记录的版本号与版本日志不符")
    return {
        "record": _summary(record),
        "versions": rows,
        "chain_ok": bool(versions) and not problems,
        "problems": problems or ([] if versions else ["该记录没有版本日志（非经推送写入）"]),
    }
