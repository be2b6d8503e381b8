"""Bulk loads from a file: a department's records pushed as its API would, without the caps."""

from __future__ import annotations

from pathlib import Path

from services.accounts.department_keys import department_by_code
from services.ingest.parse import CLI_LIMITS, content_type_for_path
from services.ingest.push import IngestResult, Progress, ingest_batch


async def ingest_file(
    department_code: str,
    path: Path,
    *,
    charset: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Push the records of a .csv, .jsonl or .ndjson file for the department with this code.

    The same checks, history and tamper evidence as the API; no size or row limit. Raises
    NotFound for an unknown department, and what ingest_batch raises for a refused body."""
    department = await department_by_code(department_code)
    return await ingest_batch(
        department,
        path,
        content_type=content_type_for_path(str(path)),
        charset=charset,
        channel="cli",
        limits=CLI_LIMITS,
        progress=progress,
    )
