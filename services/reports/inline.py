"""A report issued at once in the caller's process, as the command line's service-hall path does.

The request is stored and queued like any other; issuing it here first leaves the render job
nothing to do (issuing is safe to run twice).
"""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from config.settings import Settings
from infra.storage import open_store, read_all
from models.report import Report
from services.jobs import data_as_of_for_report
from services.reports.issuing import ReportRequest, issue, request_report
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner


async def issue_now(settings: Settings, redis: Redis, request: ReportRequest) -> Report:
    """Request a report and issue it here: assembled, signed, sealed, its card and PDF stored."""
    report = await request_report(redis, request)
    renderer = make_renderer(settings.pki_dir, settings.public_base_url, settings.tsa_url)
    signer = SnapshotSigner(settings.report_signing_key)
    return await issue(
        report,
        settings=settings,
        signer=signer,
        data_as_of=data_as_of_for_report,
        renderer=renderer,
    )


async def copy_report_files(settings: Settings, report: Report, out: Path) -> list[Path]:
    """Write an issued report's PDF and PNG card into the directory `out`."""
    out.mkdir(parents=True, exist_ok=True)
    storage = open_store(settings)
    written = []
    for stored in (report.pdf_path, report.png_path):
        assert stored is not None, "an issued report has both files"
        (out / stored).write_bytes(await read_all(storage, stored))
        written.append(out / stored)
    return written
