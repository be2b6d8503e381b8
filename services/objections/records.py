"""A resolution that changes a record (更正, 更新, 修复) goes through the ingestion path.

The record is rewritten as its department would push it: the same row checks
(services.ingest.validate), the same upsert by (department, source_ref) with a new version and an
entry in the hash-chained version log (services.ingest.store), in a batch of its own. So the
change is versioned and chained like any push, `audit verify` accepts it, and reports issued
earlier over the record verify as "报告出具后数据已更新".

The batch is closed as "applied", not "done": one corrected record says nothing about whether
the department's data is current, so it must not move the domain's "data as of" date.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from config import clock
from models.ingest_batch import IngestBatch
from models.record import Record
from services.accounts.department_keys import department_by_code
from services.audit import append_audit
from services.errors import Forbidden, Unprocessable
from services.ingest.parse import RawRow, Rejection
from services.ingest.push import today_in_china
from services.ingest.store import write_chunk
from services.ingest.validate import RowValidator

EDITABLE_FIELDS = ("kind", "procedure", "decision_no", "authority", "decision_date", "summary",
                   "status", "status_date")  # fmt: skip
BATCH_CHANNEL = "obj"  # ingest_batch.channel: api | cli | obj
BATCH_STATUS = "applied"


@dataclass(frozen=True)
class RecordChange:
    record_id: int
    version: int  # the record's version after the change
    batch_id: str


def _current_values(record: Record) -> dict[str, Any]:
    return {
        "uscc": record.enterprise.uscc,
        "domain": record.domain_id,
        "kind": str(record.kind),
        "decision_no": record.decision_no,
        "authority": record.authority,
        "decision_date": record.decision_date.isoformat(),
        "summary": record.summary,
        "status": str(record.status),
        "source_ref": record.source_ref,
        # A penalty stored before procedures were captured (未注明) must have one stated in its
        # next version, as any new penalty row must.
        "procedure": None if record.procedure in (None, "unstated") else str(record.procedure),
        "status_date": record.status_date.isoformat() if record.status_date else None,
    }


async def change_record(
    record_id: int,
    changes: Mapping[str, Any],
    *,
    department_code: str,
    ticket_no: str,
    actor: str = "",
    now: datetime | None = None,
) -> RecordChange:
    """Apply `changes` (a subset of EDITABLE_FIELDS) to the record as a new version, for the
    department that pushed it. In a domain shared by several departments, a ticket handed over
    to another one does not let that one rewrite the first one's record (Forbidden)."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise Unprocessable(
            f"只能修改以下字段：{'、'.join(EDITABLE_FIELDS)}；不能修改：{'、'.join(unknown)}",
            code="record_field_not_editable",
        )
    record = await Record.get(id=record_id).prefetch_related("enterprise", "department")
    if record.department.code != department_code:
        raise Forbidden(
            f"该记录由{record.department.name}推送，只能由其更正；请将异议转交回该部门办理",
            code="record_of_other_department",
        )
    values = _current_values(record)
    for name, value in changes.items():
        values[name] = value.isoformat() if isinstance(value, date) else value
    department = await department_by_code(record.department.code)
    validator = RowValidator(department.code, department.domains, today_in_china(now))
    row = validator.check(RawRow(1, values, 0))
    if isinstance(row, Rejection):
        raise Unprocessable(row.message, code=row.code, field=row.field)
    if row.content_hash == record.content_hash:
        raise Unprocessable(
            "修改后的内容与现有记录相同，请填写需要修改的内容", code="record_unchanged"
        )
    row.enterprise_id = record.enterprise_id
    at = (now or clock.utc_now()).replace(microsecond=0)
    batch = await IngestBatch.create(
        public_id=uuid.uuid4().hex,
        department_id=department.id,
        channel=BATCH_CHANNEL,
        content_type="objection",
        encoding="utf-8",
        status="receiving",
        rows_received=1,
        started_at=at,
    )
    outcome = await write_chunk([row], department_id=department.id, batch_pk=batch.id, now=at)
    await IngestBatch.filter(id=batch.id).update(status=BATCH_STATUS, finished_at=at)
    await record.refresh_from_db(fields=["version"])
    detail: dict[str, Any] = {"ticket_no": ticket_no, "version": record.version,
                              "batch_id": batch.public_id}  # fmt: skip
    if outcome.head:
        detail.update(chain_head_id=outcome.head[0], chain_head_hash=outcome.head[1])
    await append_audit(
        actor or f"dept:{department_code}",
        "objection.record_changed",
        "record",
        str(record.id),
        detail,
    )
    return RecordChange(record.id, record.version, batch.public_id)
