"""The full check of a report PDF: its seal, the snapshot signature embedded in it, and our record.

Used by `run.py verify --pdf` and by the verify page's optional upload. A PDF is genuine when the
seal validates against the platform root and either its embedded snapshot is signed by a
published key and is the snapshot we issued, or (a report issued before snapshots were embedded)
the file is byte for byte the one we issued.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from models.report import Report
from render.seal import SealCheck, async_verify_sealed_pdf
from services.reports.evidence import SIGNATURE_FILE, SNAPSHOT_FILE
from services.reports.signing import verify_snapshot
from services.reports.signing_keys import public_keys
from services.reports.snapshot import canonical_json

MAX_PDF_BYTES = 20 * 1024 * 1024  # a report is well under 2 MB


@dataclass(frozen=True)
class PdfCheck:
    seal: SealCheck
    embedded: bool | None  # the embedded snapshot's signature verifies; None: nothing embedded
    same_as_issued: bool  # the embedded snapshot (or, without one, the file) is what we issued

    @property
    def genuine(self) -> bool:
        return bool(self.seal) and self.embedded is not False and self.same_as_issued

    def lines(self) -> list[str]:
        """The findings in Chinese, one a line, for the page and the command line."""
        seal = "电子签章有效" if self.seal else f"电子签章无效：{self.seal.reason}"
        if self.seal and self.seal.timestamped:
            seal += "（含可信时间戳与长期验证数据）"
        embedded = {None: "文件未内嵌报告快照（较早出具的报告），已按整个文件比对",
                    True: "内嵌报告快照的签名有效", False: "内嵌报告快照的签名无效"}  # fmt: skip
        same = "与平台出具记录一致" if self.same_as_issued else "与平台出具记录不一致"
        return [seal, embedded[self.embedded], same]


def embedded_evidence(pdf: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """(snapshot bytes, signature envelope) from the PDF's attached files, if it has them."""
    from pypdf import PdfReader

    try:
        files = PdfReader(io.BytesIO(pdf)).attachments
        snapshot, envelope = files[SNAPSHOT_FILE][-1], files[SIGNATURE_FILE][-1]
        return snapshot, json.loads(envelope)
    except Exception:  # no attachments, or not a PDF: the seal check says which
        return None


async def check_pdf(pdf: bytes, root_pem: bytes, report: Report) -> PdfCheck:
    seal = await async_verify_sealed_pdf(pdf, root_pem)
    found = embedded_evidence(pdf)
    if found is None:
        same = hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
        return PdfCheck(seal, None, same)
    snapshot, envelope = found
    keys = await public_keys(str(envelope.get("key_id") or "")) if envelope.get("key_id") else []
    signed = any(
        verify_snapshot(k, snapshot, str(envelope.get("signature", "")), legacy=False) for k in keys
    )
    return PdfCheck(seal, signed, snapshot == canonical_json(report.snapshot))
