"""The audit trail (审计日志): append-only, each entry's hash covers the previous entry's hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from config import clock
from models.audit import AuditEntry

GENESIS = "0" * 64
# Any constant works: it serialises appends on PostgreSQL so that the chain never forks.
_PG_LOCK_KEY = 0x59_43_41_55  # "YCAU"


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, obj: str, detail: Any) -> str:
    payload = json.dumps(
        [prev_hash, at.astimezone(UTC).isoformat(), actor, action, obj, detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


async def append_audit(
    actor: str, action: str, object_type: str, object_id: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    """Record who did what to which object, chained to the entry before it."""
    detail = detail or {}
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_LOCK_KEY])
        last = await AuditEntry.all().using_db(conn).order_by("-id").first()
        prev = last.hash if last else GENESIS
        at = clock.utc_now().replace(microsecond=0)
        obj = f"{object_type}:{object_id}"
        return await AuditEntry.create(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
            prev_hash=prev,
            hash=entry_hash(prev, at, actor, action, obj, detail),
            using_db=conn,
        )


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


async def verify_audit_chain() -> list[ChainBreak]:
    """Recompute the chain; every entry whose hash or link does not hold is returned."""
    breaks: list[ChainBreak] = []
    prev = GENESIS
    async for entry in _iterate_entries():
        obj = f"{entry.object_type}:{entry.object_id}"
        expected = entry_hash(prev, entry.at, entry.actor, entry.action, obj, entry.detail)
        if entry.prev_hash != prev:
            breaks.append(ChainBreak(entry.id, "链接断开：上一条哈希不符"))
        elif entry.hash != expected:
            breaks.append(ChainBreak(entry.id, "内容被改动：哈希不符"))
        prev = entry.hash
    return breaks


async def _iterate_entries(batch: int = 1000):  # type: ignore[no-untyped-def]
    last_id = 0
    while True:
        rows = await AuditEntry.filter(id__gt=last_id).order_by("id").limit(batch)
        if not rows:
            return
        for row in rows:
            yield row
        last_id = rows[-1].id
