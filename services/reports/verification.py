"""Verification (核验) for third parties, and expiring download links for owners."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from config import clock
from config.calendar import CHINA
from config.rule_sets import rule_set_of_snapshot
from config.settings import Settings
from infra.storage import StoredStream, open_store
from models.enterprise import Enterprise
from models.enums import ReportPurpose, ReportStatus
from models.report import Report
from render import wording
from render.html import cn_date, cn_datetime
from render.view import Section, view_from_snapshot
from services.audit import append_audit
from services.errors import Forbidden, NotFound
from services.reports.evidence import evidence_document
from services.reports.issuing import parts_ready
from services.reports.signing import (
    SnapshotSigner,
    link_is_valid,
    same_secret,
    sign_link,
    verify_snapshot,
)
from services.reports.signing_keys import public_keys, record_key_in_use
from services.reports.snapshot import (
    assemble_sections,
    canonical_json,
    records_fingerprint,
    related_enterprises,
    sha256_hex,
)
from services.reports.span import Span

# One answer for an unknown number and a wrong code, so that numbers cannot be enumerated.
NOT_FOUND_MESSAGE = "未找到该报告，请核对报告编号和核验码"
DATA_CHANGED = "报告出具后数据已更新"
DATA_UNCHANGED = "报告出具后数据未发生变化"


async def ready_report(report_no: str, code: str) -> Report:
    # Anything that cannot be a report number is simply not found (not a database error).
    well_formed = report_no.isascii() and report_no.isalnum() and len(report_no) <= 32
    report = await Report.get_or_none(number=report_no) if well_formed else None
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
    # Recomputed under the rules the report was issued under, as of its own issue date.
    snapshot = report.snapshot
    rules = rule_set_of_snapshot(snapshot)
    issued_on = datetime.fromisoformat(snapshot["issued_at"]).date()
    sections = await assemble_sections(
        enterprise, related, report.domains, span, no_dates, rules, issued_on
    )
    return records_fingerprint(sections) != snapshot["records_fingerprint"]


async def is_genuine(report: Report) -> bool:
    """The stored snapshot is what was signed, by a published key (either signing scheme)."""
    canonical = canonical_json(report.snapshot)
    if report.snapshot_sha256 and sha256_hex(canonical) != report.snapshot_sha256:
        return False
    legacy = report.signing_key_id is None
    return any(
        verify_snapshot(key, canonical, report.signature or "", legacy)
        for key in await public_keys(report.signing_key_id)
    )


def _purpose_label(value: str) -> str:
    try:
        return ReportPurpose(value).label
    except ValueError:
        return value


def _cn_date(iso: str | None) -> str | None:
    return cn_date(date.fromisoformat(iso[:10])) if iso else None


def section_summary(section: Section) -> dict[str, Any]:
    """One enterprise as the verify page shows it: who, how related, and each domain's result in
    the report's own words (arrears and stale data included), from the same view model."""
    domains = []
    for d in section.domains:
        summary = f"{d.result_text}；{d.arrears_text}" if d.checks_arrears else d.result_text
        lines = len(d.records) + len(d.arrears) + len(d.arrears_paid)
        domains.append({"number": d.number, "name": d.name, "found": lines,
                        "summary": summary})  # fmt: skip
    return {
        "enterprise_name": section.enterprise_name,
        "uscc": section.uscc,
        "relation": section.relation or "申请企业",
        "found_total": sum(d["found"] for d in domains),
        "domains": domains,
    }


async def verify_report(
    report_no: str, code: str, signer: SnapshotSigner, actor: str = "verifier"
) -> dict[str, Any]:
    """Is the report genuine, what does it cover, and has its data changed since issue?"""
    report = await ready_report(report_no, code)
    await record_key_in_use(signer)  # a ring that predates key ids starts with the current key
    snapshot = report.snapshot
    genuine = await is_genuine(report)
    changed = await _records_changed(report)
    await append_audit(actor, "report.verified", "report", report.number,
                       {"genuine": genuine, "data_changed": changed})  # fmt: skip
    main = snapshot["sections"][0]
    issued = datetime.fromisoformat(snapshot["issued_at"])
    checked = clock.now()
    verdict = "报告真实有效" if genuine else "报告校验未通过：内容与签名不符，请勿采信"
    # The page's headline: one of three states, each as plain as the others.
    if not genuine:
        state, headline = "bad", verdict
    elif changed:
        state, headline = "changed", "报告真实，但出具后数据已更新"
    else:
        state, headline = "good", "报告真实有效，出具后数据未变化"
    return {
        **_findings(snapshot),
        "genuine": genuine,
        "state": state,
        "verdict": verdict,
        "headline": headline,
        "report_no": report.number,
        "enterprise_name": main["enterprise_name"],
        "uscc": main["uscc"],
        "related": [s["enterprise_name"] for s in snapshot["sections"][1:]],
        "sections": [section_summary(s) for s in view_from_snapshot(snapshot).sections],
        "purpose": snapshot.get("purpose"),
        "purpose_label": _purpose_label(str(snapshot.get("purpose", ""))),
        "domains": report.domains,
        "span": snapshot["span"],
        "span_label": f"{_cn_date(snapshot['span']['from'])} 至 {_cn_date(snapshot['span']['to'])}",
        "issued_at": snapshot["issued_at"],
        "issued_at_label": cn_datetime(issued.astimezone(CHINA)),
        "checked_at": checked.isoformat(timespec="seconds"),
        "checked_at_label": cn_datetime(checked),
        "snapshot_sha256": report.snapshot_sha256,
        "pdf_sha256": report.pdf_sha256,
        "key_id": report.signing_key_id,
        "data_changed": changed,
        "data_status": DATA_CHANGED if changed else DATA_UNCHANGED,
    }


def _findings(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """What the report says about its rule set and its stale domains, in the report's words."""
    view = view_from_snapshot(snapshot)
    stale = [
        {"enterprise_name": s.enterprise_name, "number": d.number, "name": d.name,
         "data_as_of": d.data_as_of_text, "result": d.result_text}
        for s in view.sections
        for d in s.stale_domains
    ]  # fmt: skip
    stored = snapshot.get("rule_set") or {}
    return {
        "rule_set": view.rule_set,
        "rule_set_name": f"{stored['name']}（第{stored['version']}版）" if stored else "",
        "stale_domains": stale,
        "stale_legend": wording.STALE_LEGEND if stale else "",
    }


async def report_evidence(
    report_no: str, code: str, signer: SnapshotSigner, actor: str = "verifier"
) -> dict[str, Any]:
    """/verify/{no}.json: the signed snapshot, signature and key id, for checking elsewhere."""
    report = await ready_report(report_no, code)
    await record_key_in_use(signer)
    await append_audit(actor, "report.evidence_fetched", "report", report.number, {})
    body = evidence_document(
        canonical_json(report.snapshot), report.signature or "", report.signing_key_id
    )
    body["snapshot"] = report.snapshot
    body["report_no"] = report.number
    body["pdf_sha256"] = report.pdf_sha256
    return body


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
) -> tuple[StoredStream, str]:
    """The file behind a signed link, audited, as a stream from whichever store holds it; a
    tampered or expired link is refused (403)."""
    path = f"/r/{name}"
    if not link_is_valid(settings.link_signing_key, path, expires, signature, None):
        raise Forbidden("下载链接无效或已过期，请重新获取", code="link_invalid")
    number, _, kind = name.rpartition(".")
    report = await Report.get_or_none(number=number)
    part = {"pdf": "pdf", "png": "card"}.get(kind)
    if report is None or part is None or not parts_ready(report)[part]:
        raise NotFound("未找到该报告文件", code="report_file_not_found")
    stored = report.pdf_path if kind == "pdf" else report.png_path
    stream = await open_store(settings).open(stored or "")
    if stream is None:
        raise NotFound("未找到该报告文件", code="report_file_not_found")
    await append_audit(actor, "report.downloaded", "report", report.number, {"kind": kind})
    return stream, "application/pdf" if kind == "pdf" else "image/png"
