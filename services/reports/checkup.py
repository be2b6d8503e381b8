"""The full check of an issued report for the command line: its record and, given one, its PDF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.settings import Settings
from services.reports.pdf_check import PdfCheck, check_pdf
from services.reports.rendering import platform_pki
from services.reports.signing import SnapshotSigner
from services.reports.verification import ready_report, verify_report


@dataclass(frozen=True)
class Checkup:
    """What verify_report found, and what the PDF check found (None: no PDF given)."""

    verdict: dict[str, Any]
    pdf: PdfCheck | None

    @property
    def genuine(self) -> bool:
        return bool(self.verdict["genuine"]) and (self.pdf is None or self.pdf.genuine)


async def check_report(
    settings: Settings, report_no: str, code: str, pdf: bytes | None, actor: str = "cli"
) -> Checkup:
    """Verify a report (audited, as the verify page does) and, given its PDF, that the file is
    the one issued, sealed and signed. Raises NotFound for an unknown report or a wrong code."""
    verdict = await verify_report(
        report_no, code, SnapshotSigner(settings.report_signing_key), actor=actor
    )
    if pdf is None:
        return Checkup(verdict, None)
    report = await ready_report(report_no, code)
    root = platform_pki(settings.pki_dir, settings.public_base_url).root()
    return Checkup(verdict, await check_pdf(pdf, root, report))
