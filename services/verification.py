"""Verification (核验) for third parties, and expiring download links for owners."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

from config.settings import Settings
from models.enterprise import Enterprise
from models.enums import ReportStatus
from models.report import Report
from services.audit import append_audit
from services.errors import Forbidden, NotFound
from services.signing import SnapshotSigner, link_is_valid, same_secret, sign_link
from services.snapshot import (
    assemble_sections,
    canonical_json,
    records_fingerprint,
    related_enterprises,
    sha256_hex,
)
from services.span import Span
from services.storage import LocalStorage

# One answer for an unknown number and a wrong code, so that numbers cannot be enumerated.
NOT_FOUND_MESSAGE = "未找到该报告，请核对报告编号和核验码"
DATA_CHANGED = "报告出具后数据已更新"
DATA_UNCHANGED = "报告出具后数据未发生变化"


async def _ready_report(report_no: str, code: str) -> Report:
    report = await Report.get_or_none(number=report_no)
    given = (code or "").strip().upper()
    if report is None or not same_secret(report.verify_code, given):
        raise NotFound(NOT_FOUND_MESSAGE, code="report_not_found")
    if report.status != ReportStatus.READY or report.snapshot is None:
        raise NotFound("该报告尚未出具完成，请稍后再试", code="report_not_ready")
    return report


async def _records_changed(report: Report) -> bool:
    """Recompute what the report found, from today's data, and compare fingerprints."""
    enterprise = await Enterprise.get(id=report.enterprise_id)
    kinds = dict((e.id, k) for e, k in await related_enterprises(enterprise))
    related = [
        (e, kinds[e.id])
        for e in await Enterprise.filter(id__in=report.related_enterprise_ids).order_by("uscc")
        if e.id in kinds
    ]
    no_dates: dict[int, date | None] = {}
    span = Span(report.span_from, report.span_to)
    sections = await assemble_sections(enterprise, related, report.domains, span, no_dates)
    return records_fingerprint(sections) != report.snapshot["records_fingerprint"]


def is_genuine(snapshot: Any, digest: str, signature: str, signer: SnapshotSigner) -> bool:
    """The stored snapshot hashes to the signed digest, and the signature is the platform's."""
    return sha256_hex(canonical_json(snapshot)) == digest and signer.verify(digest, signature)


async def verify_report(
    report_no: str, code: str, signer: SnapshotSigner, actor: str = "verifier"
) -> dict[str, Any]:
    """Is the report genuine, what does it cover, and has its data changed since issue?"""
    report = await _ready_report(report_no, code)
    snapshot = report.snapshot
    genuine = is_genuine(snapshot, report.snapshot_sha256 or "", report.signature or "", signer)
    changed = await _records_changed(report)
    await append_audit(actor, "report.verified", "report", report.number,
                       {"genuine": genuine, "data_changed": changed})  # fmt: skip
    main = snapshot["sections"][0]
    return {
        "genuine": genuine,
        "verdict": "报告真实有效" if genuine else "报告校验未通过：内容与签名不符，请勿采信",
        "report_no": report.number,
        "enterprise_name": main["enterprise_name"],
        "uscc": main["uscc"],
        "related": [s["enterprise_name"] for s in snapshot["sections"][1:]],
        "domains": report.domains,
        "span": snapshot["span"],
        "issued_at": snapshot["issued_at"],
        "snapshot_sha256": report.snapshot_sha256,
        "pdf_sha256": report.pdf_sha256,
        "data_changed": changed,
        "data_status": DATA_CHANGED if changed else DATA_UNCHANGED,
    }


def download_path(report: Report, kind: str) -> str:
    return f"/r/{report.number}.{kind}"


def signed_download_url(
    settings: Settings, report: Report, kind: str, now: float | None = None
) -> str:
    """An expiring link to the report's PDF or PNG."""
    path = download_path(report, kind)
    expires = int((time.time() if now is None else now) + settings.link_ttl_s)
    signature = sign_link(settings.link_signing_key, path, expires)
    return f"{settings.public_base_url}{path}?e={expires}&s={signature}"


async def open_download(
    settings: Settings, name: str, expires: str, signature: str, actor: str
) -> tuple[bytes, str]:
    """The file behind a signed link, audited; a tampered or expired link is refused (403)."""
    path = f"/r/{name}"
    if not link_is_valid(settings.link_signing_key, path, expires, signature, None):
        raise Forbidden("下载链接无效或已过期，请重新获取", code="link_invalid")
    number, _, kind = name.rpartition(".")
    report = await Report.get_or_none(number=number, status=ReportStatus.READY)
    if report is None or kind not in ("pdf", "png"):
        raise NotFound("未找到该报告文件", code="report_file_not_found")
    stored = report.pdf_path if kind == "pdf" else report.png_path
    # A PDF is hundreds of kilobytes: read it off the event loop.
    data = await asyncio.to_thread(LocalStorage(settings.reports_dir).get, stored or "")
    await append_audit(actor, "report.downloaded", "report", report.number, {"kind": kind})
    return data, "application/pdf" if kind == "pdf" else "image/png"
