"""Department data ingestion (数据归集): one push of records, from body to answer.

The rules, in order:
1. The body is spooled and scanned before anything is written (services.ingest.parse): a body
   that is too big, has too many rows, is binary, cannot be decoded or cannot be split into
   rows is refused whole, and nothing is written.
2. Each row is validated on its own (services.ingest.validate). A rejected row is reported with
   its line, field, code and Chinese message; the others go on.
3. Valid rows are written in chunks of CHUNK_ROWS, one transaction per chunk
   (services.ingest.store): a row is written with its version entry and the batch's counts, or
   not at all. A row acknowledged in the answer is durable. If the answer is lost (the server
   dies mid-batch), pushing the same batch again is safe: rows already written come back
   "unchanged".
4. A source_ref that appears twice in one batch: the first valid occurrence is taken, later
   ones are rejected as duplicate_in_batch.
5. If every row of a batch is for a domain the department does not own, the whole answer is
   403 domain_not_owned (with the usual body in `details`); otherwise such rows are rejected
   one by one. Nothing of another department's domain is ever written.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

from config import clock
from config.calendar import CHINA
from models.ingest_batch import IngestBatch
from services.accounts.department_keys import DepartmentIdentity
from services.audit import append_audit
from services.errors import Forbidden, ServiceError
from services.ingest.parse import (
    API_LIMITS,
    BodyShape,
    IngestLimits,
    RawRow,
    Rejection,
    body_format,
    iter_raw_rows,
    scan,
    spool,
)
from services.ingest.store import ChunkOutcome, enterprise_ids, write_chunk
from services.ingest.validate import (
    RowValidator,
    ValidRow,
    duplicate_rejection,
    unknown_enterprise,
)

log = logging.getLogger(__name__)

CHUNK_ROWS = 2_500
WRITES_IN_FLIGHT = 2
MAX_REPORTED_REJECTIONS = 1_000
BATCH_ACTION = "ingest.batch"

Progress = Callable[[int, int], None]  # (rows done, rows in the body)


@dataclass
class IngestResult:
    """What became of a batch: the answer a department gets."""

    batch_id: str
    encoding: str
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first MAX_REPORTED
    by_code: Counter[str] = field(default_factory=Counter)

    @property
    def truncated(self) -> bool:
        return self.rejected > len(self.rejections)

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        self.by_code[rejection.code] += 1
        if len(self.rejections) < MAX_REPORTED_REJECTIONS:
            self.rejections.append(rejection)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "encoding": self.encoding,
            "counts": {
                "received": self.received,
                "created": self.created,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "rejected": self.rejected,
            },
            "rejected": [r.to_dict() for r in self.rejections],
            "truncated": self.truncated,
        }


async def ingest_batch(
    department: DepartmentIdentity,
    body: AsyncIterable[bytes] | Path,
    *,
    content_type: str,
    charset: str | None = None,
    content_length: int | None = None,
    channel: str = "api",
    limits: IngestLimits = API_LIMITS,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Take one push of records (a stream of bytes, or a file for the command line).

    Raises a ServiceError for a body refused whole (nothing written), and Forbidden
    (domain_not_owned) when every row is for another department's domain.
    """
    started = now or clock.utc_now()
    batch = await IngestBatch.create(
        public_id=uuid.uuid4().hex,
        department_id=department.id,
        channel=channel,
        content_type=content_type[:64],
        status="receiving",
        started_at=started,
    )
    result = IngestResult(batch.public_id, "")
    try:
        fmt = body_format(content_type, charset)
        if isinstance(body, Path):
            file = body.open("rb")  # a file on disk needs no spooling
        else:
            file = await spool(body, limits, content_length)
        with file:
            shape = await asyncio.to_thread(scan, file, fmt, limits)
            result.encoding = shape.encoding
            await _ingest_rows(department, batch, file, shape, limits, result, now, progress)
    except ServiceError as exc:
        await _close_batch(batch, result, "refused", exc.code, now)
        raise
    except Exception:
        log.exception("batch %s of %s failed", batch.public_id, department.code)
        await _close_batch(batch, result, "failed", None, now)
        raise
    await _close_batch(batch, result, "done", None, now)
    if result.received and result.by_code.get("domain_not_owned") == result.received:
        raise Forbidden(
            "本批次的记录均属于本部门不负责的领域，无权推送，未写入任何数据",
            code="domain_not_owned",
            **result.to_dict(),
        )
    return result


async def _ingest_rows(
    department: DepartmentIdentity,
    batch: IngestBatch,
    file: IO[bytes],
    shape: BodyShape,
    limits: IngestLimits,
    result: IngestResult,
    now: datetime | None,
    progress: Progress | None,
) -> None:
    validator = RowValidator(department.code, department.domains, today_in_china(now))
    rows = iter_raw_rows(file, shape, limits)
    enterprises: dict[str, int | None] = {}
    first_seen: dict[str, int] = {}
    head: tuple[int, str] | None = None
    # A pipeline: while chunks are written (the database's work, up to WRITES_IN_FLIGHT at a
    # time, on their own connections), the next one is checked and the one after parsed (a
    # worker thread). A failed write stops the batch; what was committed before it stays.
    pending = asyncio.ensure_future(asyncio.to_thread(_next_chunk, rows, validator))
    writing: list[asyncio.Future[ChunkOutcome]] = []

    def tally(outcome: ChunkOutcome) -> None:
        nonlocal head
        result.created += outcome.created
        result.updated += outcome.updated
        result.unchanged += outcome.unchanged
        if outcome.head and (head is None or outcome.head[0] > head[0]):
            head = outcome.head

    try:
        while chunk := await pending:
            pending = asyncio.ensure_future(asyncio.to_thread(_next_chunk, rows, validator))
            result.received += len(chunk)
            valid = await _accept(chunk, enterprises, first_seen, result)
            while len(writing) >= WRITES_IN_FLIGHT:
                tally(await writing.pop(0))
            if valid:
                at = (now or clock.utc_now()).replace(microsecond=0)
                writing.append(
                    asyncio.ensure_future(
                        write_chunk(valid, department_id=department.id, batch_pk=batch.id, now=at)
                    )
                )
            if progress:
                progress(result.received, shape.rows)
        while writing:
            tally(await writing.pop(0))
    finally:
        # Never leave the thread reading a file that is about to be closed, nor a write
        # running after the batch has been given up.
        await asyncio.wait([pending, *writing])
        for other in writing:
            if not other.cancelled() and other.exception():
                log.warning("a further chunk of batch %s failed too", batch.public_id)
    if head is not None:
        await append_audit(
            f"dept:{department.code}",
            BATCH_ACTION,
            "ingest_batch",
            batch.public_id,
            {
                "created": result.created,
                "updated": result.updated,
                "chain_head_id": head[0],
                "chain_head_hash": head[1],
            },
        )


def _next_chunk(
    rows: Iterator[RawRow | Rejection], validator: RowValidator
) -> list[ValidRow | Rejection]:
    return [
        row if isinstance(row, Rejection) else validator.check(row)
        for row in islice(rows, CHUNK_ROWS)
    ]


async def _accept(
    chunk: list[ValidRow | Rejection],
    enterprises: dict[str, int | None],
    first_seen: dict[str, int],
    result: IngestResult,
) -> list[ValidRow]:
    """The chunk's rows that may be written: known enterprise, first of their source_ref."""
    unseen = {r.uscc for r in chunk if isinstance(r, ValidRow) and r.uscc not in enterprises}
    if unseen:
        found = await enterprise_ids(sorted(unseen))
        enterprises.update({u: found.get(u) for u in unseen})
    valid: list[ValidRow] = []
    for row in chunk:
        if isinstance(row, Rejection):
            result.reject(row)
            continue
        enterprise_id = enterprises[row.uscc]
        if enterprise_id is None:
            result.reject(unknown_enterprise(row))
            continue
        first = first_seen.setdefault(row.source_ref, row.line)
        if first != row.line:
            result.reject(duplicate_rejection(row, first))
            continue
        row.enterprise_id = enterprise_id
        valid.append(row)
    return valid


async def _close_batch(
    batch: IngestBatch,
    result: IngestResult,
    status: str,
    refusal_code: str | None,
    now: datetime | None,
) -> None:
    # Counts of written rows were added chunk by chunk, in the chunks' own transactions.
    await IngestBatch.filter(id=batch.id).update(
        status=status,
        refusal_code=refusal_code,
        encoding=result.encoding,
        rows_received=result.received,
        rejected=result.rejected,
        rejections_by_code=dict(result.by_code),
        rejected_rows=[r.to_dict() for r in result.rejections],
        finished_at=now or clock.utc_now(),
    )


def today_in_china(now: datetime | None = None) -> date:
    """The calendar date in Beijing: what 'today' means for decision dates."""
    return (now or clock.utc_now()).astimezone(CHINA).date()
