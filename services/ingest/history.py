"""A department's push history (推送记录) for its console: each batch with its counts, the data
quality figures with the domains whose "数据截至" lags, and the rejected rows of a batch as a CSV
that a spreadsheet opens without running anything in it."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from config.calendar import CHINA, calendar_for
from config.catalogue import DOMAINS_BY_NUMBER, domains_of_department
from infra.formula import neutralise
from models.catalogue import Department
from models.ingest_batch import IngestBatch
from services.errors import NotFound
from services.ingest.quality import LATE_AFTER_WORKING_DAYS, data_as_of_all, department_quality
from services.ingest.validate import REJECTION_CODES

STATUS_LABELS = {
    "receiving": "接收中",
    "writing": "写入中",
    "done": "已完成",
    "refused": "已拒收",
    "failed": "失败",
    "applied": "异议更正",
}
CSV_HEADER = ("行号", "字段", "原因代码", "原因", "来源编号")


async def push_history(department_code: str, limit: int = 50) -> list[dict[str, Any]]:
    """The department's latest batches, newest first."""
    batches = (
        await IngestBatch.filter(department__code=department_code).order_by("-id").limit(limit)
    )
    return [
        {
            "id": b.public_id,
            "channel": b.channel,
            "status": STATUS_LABELS.get(b.status, b.status),
            "started_at": b.started_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
            "received": b.rows_received,
            "created": b.created,
            "updated": b.updated,
            "unchanged": b.unchanged,
            "rejected": b.rejected,
            "has_rows": bool(b.rejected_rows),
            "reasons": [
                {"label": REJECTION_CODES.get(code, code), "count": count}
                for code, count in sorted((b.rejections_by_code or {}).items(), key=lambda i: -i[1])
            ],
        }
        for b in batches
    ]


async def rejected_rows_csv(department_code: str, public_id: str) -> bytes:
    """The batch's rejected rows as CSV (UTF-8 with a BOM, for Excel); every cell neutralised
    against formula injection. NotFound for a batch of another department."""
    department = await Department.get_or_none(code=department_code)
    batch = await IngestBatch.get_or_none(public_id=public_id[:32])
    if department is None or batch is None or batch.department_id != department.id:  # type: ignore[attr-defined]
        raise NotFound("未找到该推送批次", code="batch_not_found")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in batch.rejected_rows or []:
        cells = (row.get("line"), row.get("field"), row.get("code"), row.get("message"),
                 row.get("source_ref"))  # fmt: skip
        writer.writerow([neutralise("" if c is None else str(c)) for c in cells])
    return ("\ufeff" + out.getvalue()).encode()


async def quality_dashboard(department_code: str, today: date) -> dict[str, Any]:
    """The department's data-quality figures, and its domains whose data lag: never pushed, or
    last complete more than the 7-working-day rule ago."""
    figures = (await department_quality(department_code)).to_dict()
    as_of = await data_as_of_all()
    calendar = calendar_for()
    domains = []
    for number in domains_of_department(department_code):
        day = as_of.get(number)
        lag = calendar.working_days_between(day, today) if day else None
        domains.append({
            "number": number,
            "name": DOMAINS_BY_NUMBER[number].name,
            "as_of": day.isoformat() if day else "从未推送",
            "lag": lag,
            "lagging": lag is None or lag > LATE_AFTER_WORKING_DAYS,
        })  # fmt: skip
    figures["domains"] = domains
    figures["lagging"] = [d for d in domains if d["lagging"]]
    return figures
