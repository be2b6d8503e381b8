"""Issuing reports: request (pending + queued), render (the worker), and look-ups for owners."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

from config import clock
from config.rule_sets import rule_set
from config.settings import Settings, served_channels
from infra.numbering import next_serial_number
from infra.storage import open_store
from models.enterprise import Enterprise
from models.enums import Channel, RelatedRole, ReportPurpose, ReportStatus
from models.report import Report
from queues.producer import enqueue
from queues.registry import JobContext
from render.seal import Attachment
from services.audit import append_audit
from services.errors import InvalidRequest, NotFound
from services.identity import normalise_uscc
from services.reports.evidence import evidence_files
from services.reports.signing import SnapshotSigner
from services.reports.signing_keys import record_key_in_use
from services.reports.snapshot import (
    assemble_sections,
    build_snapshot,
    canonical_json,
    related_enterprises,
    sha256_hex,
)
from services.reports.span import check_domains, check_span

log = logging.getLogger(__name__)

RENDER_STREAM = "reports:render"
RENDER_JOB = "report.render"
# Unambiguous characters only: codes are read off paper and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8

DataAsOf = Callable[[Sequence[int]], Awaitable[Mapping[int, date | None]]]
CardHook = Callable[[Report], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class Renderer:
    """The two halves of a report: the PNG card (from the snapshot alone) and the sealed PDF.

    Both are synchronous and CPU-bound; `issue` runs them in a thread, the card first.
    """

    card: Callable[[dict[str, Any]], bytes]
    # (snapshot, engine, files to embed before sealing) -> sealed PDF
    pdf: Callable[[dict[str, Any], str, Sequence[Attachment]], bytes]


@dataclass(frozen=True)
class ReportRequest:
    uscc: str
    domains: Any = None  # list of numbers, "all", "1,5,7", or None for all
    start: date | str | None = None
    end: date | str | None = None
    purpose: str = ReportPurpose.LISTING.value
    channel: str = Channel.MINIPROGRAM.value
    related: bool | Sequence[int] = False  # True: every related enterprise; or their ids
    requester_id: int | None = None
    operator: str | None = None
    applicant: str | None = None  # who asked, as printed


def _enum(enum: type, value: str, code: str, message: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InvalidRequest(message, code=code, value=value) from None


# Rendering is CPU-bound and never runs on the loop that serves requests. One thread per process
# renders every report, so the process keeps one warm Typst compiler (and one font set) only.
_RENDER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")


async def in_render_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run fn(*args) in the process's render thread."""
    return await asyncio.get_running_loop().run_in_executor(_RENDER_THREAD, fn, *args)


def start_in_render_thread(fn: Callable[[], T]) -> Future[T]:
    """Start fn() in the process's render thread without waiting (a worker's warm-up): renders
    asked for meanwhile wait behind it."""
    return _RENDER_THREAD.submit(fn)


def new_verify_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def _last_number(day_prefix: str) -> str | None:
    last = await Report.filter(number__startswith=day_prefix).order_by("-number").first()
    return last.number if last else None


async def request_report(redis: Redis, req: ReportRequest, today: date | None = None) -> Report:
    """Check the request, store the report as pending and queue its rendering."""
    today = today or clock.today()
    uscc = normalise_uscc(req.uscc)
    domains = check_domains(req.domains)
    span = check_span(req.start, req.end, today)
    purpose = _enum(ReportPurpose, req.purpose, "unknown_purpose",
                    "用途应为上市挂牌、再融资、并购重组或债券发行之一")  # fmt: skip
    channel = _enum(Channel, req.channel, "unknown_channel", "未知的办理渠道")
    enterprise = await Enterprise.get_or_none(uscc=uscc)
    if enterprise is None:
        raise NotFound("未找到该统一社会信用代码对应的企业", code="unknown_enterprise")
    related_ids = await _choose_related(enterprise, req.related)
    for _ in range(5):  # a retry only after Redis lost its counter (infra.numbering)
        try:
            report = await Report.create(
                number=await next_serial_number(redis, "YX", today, _last_number),
                verify_code=new_verify_code(),
                enterprise=enterprise,
                related_enterprise_ids=related_ids,
                domains=domains,
                span_from=span.start,
                span_to=span.end,
                purpose=purpose,
                channel=channel,
                requester_id=req.requester_id,
                operator=req.operator,
            )
            break
        except IntegrityError:
            continue
    else:
        raise InvalidRequest("报告编号分配冲突，请稍后重试", code="number_conflict")
    await enqueue(redis, RENDER_STREAM, RENDER_JOB, {"report_id": report.id,
                                                    "applicant": req.applicant})  # fmt: skip
    return report


async def _choose_related(enterprise: Enterprise, related: bool | Sequence[int]) -> list[int]:
    if not related:
        return []
    candidates = {e.id for e, _ in await related_enterprises(enterprise)}
    if related is True:
        return sorted(candidates)
    chosen = set(related)
    if not chosen <= candidates:
        raise InvalidRequest("所选关联企业不属于该企业的关联企业", code="not_related")
    return sorted(chosen)


def verify_url(settings: Settings, report: Report) -> str:
    return f"{settings.public_base_url}/verify/{report.number}?c={report.verify_code}"


async def issue(
    report: Report,
    *,
    settings: Settings,
    signer: SnapshotSigner,
    data_as_of: DataAsOf,
    renderer: Renderer,
    applicant: str | None = None,
    on_card: CardHook | None = None,
) -> Report:
    """Assemble and sign one report, store its card, then its sealed PDF. Safe to run twice.

    The card needs only the signed snapshot, so it is stored (and `on_card` told) before the PDF
    is rendered: the report is then still `rendering`, with `png_path` set. It is `ready` once
    the sealed PDF is stored too; parts_ready(report) says which files are there.
    """
    if report.status == ReportStatus.READY:
        return report
    report.status = ReportStatus.RENDERING
    await report.save(update_fields=["status"])
    enterprise = await Enterprise.get(id=report.enterprise_id)
    kinds = dict((e.id, k) for e, k in await related_enterprises(enterprise))
    related_rows = await Enterprise.filter(id__in=report.related_enterprise_ids).order_by("uscc")
    related: list[tuple[Enterprise, RelatedRole]] = [(e, kinds[e.id]) for e in related_rows]
    span = check_span(report.span_from, report.span_to, report.span_to)
    as_of = await data_as_of(report.domains)
    rules = rule_set(settings.report_rule_set)
    issued_at = clock.now()
    sections = await assemble_sections(enterprise, related, report.domains, span, as_of, rules,
                                       issued_at.date())  # fmt: skip
    requester = {"enterprise_name": enterprise.name, "uscc": enterprise.uscc,
                 "channel": str(report.channel)}  # fmt: skip
    if applicant:
        requester["applicant"] = applicant
    snapshot = build_snapshot(
        report_no=report.number,
        verify_code=report.verify_code,
        verify_url=verify_url(settings, report),
        issued_at=issued_at,
        requester=requester,
        purpose=str(report.purpose),
        span=span,
        sections=sections,
        rules=rules,
        objection_channels=served_channels(settings),
    )
    canonical = canonical_json(snapshot)
    digest = sha256_hex(canonical)
    await record_key_in_use(signer)
    signature = signer.sign(canonical)
    evidence = evidence_files(canonical, signature, signer.key_id)
    storage = open_store(settings)
    png = await in_render_thread(renderer.card, snapshot)
    report.png_path = await storage.put(f"{report.number}.png", png)
    report.snapshot = snapshot
    report.snapshot_sha256 = digest
    report.signature = signature
    report.signing_key_id = signer.key_id
    await report.save()
    if on_card is not None:
        await on_card(report)
    pdf = await in_render_thread(renderer.pdf, snapshot, settings.pdf_engine, evidence)
    report.pdf_path = await storage.put(f"{report.number}.pdf", pdf)
    report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    report.status = ReportStatus.READY
    report.ready_at = clock.utc_now()
    await report.save()
    await append_audit("platform", "report.issued", "report", report.number,
                       {"sha256": digest, "pdf_sha256": report.pdf_sha256})  # fmt: skip
    return report


def parts_ready(report: Report) -> dict[str, bool]:
    """Which files of a report can be fetched: the card comes first, the sealed PDF makes it ready.

    png_path is saved together with the signed snapshot, so no link ever points at nothing.
    """
    return {
        "card": report.png_path is not None and report.status != ReportStatus.FAILED,
        "pdf": report.status == ReportStatus.READY and report.pdf_path is not None,
    }


async def fail(report: Report, reason: str) -> None:
    report.status = ReportStatus.FAILED
    report.failure_reason = reason[:500]
    await report.save(update_fields=["status", "failure_reason"])


def render_job(
    *,
    signer: SnapshotSigner,
    data_as_of: DataAsOf,
    renderer: Renderer,
    max_deliveries: int = 5,
    on_card: Callable[[JobContext, Report], Awaitable[None]] | None = None,
) -> Callable[[JobContext, dict[str, Any]], Awaitable[None]]:
    """The reports:render handler: issue the report; on the last try, mark it failed."""

    async def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
        report = await Report.get_or_none(id=payload["report_id"])
        if report is None or report.status == ReportStatus.READY:
            return  # deleted, or a second delivery of a job that already finished
        card_hook = None if on_card is None else functools.partial(on_card, ctx)
        try:
            # Rendering is CPU-bound under the GIL, so the process renders in its one render
            # thread, in the order asked: the cards of the reports it holds come before their
            # PDFs, and a user waits for one card, not for the sealed PDFs of those ahead.
            # Add processes to scale.
            await issue(report, settings=ctx.settings, signer=signer, data_as_of=data_as_of,
                        renderer=renderer, applicant=payload.get("applicant"),
                        on_card=card_hook)  # fmt: skip
        except Exception as exc:
            if ctx.delivery >= max_deliveries:
                await fail(report, f"{type(exc).__name__}: {exc}")
            raise

    return handle
