"""The card first: stored with the signed snapshot before the PDF, and said so in one place."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from infra.storage import open_store
from models.enterprise import Enterprise
from models.enums import ReportStatus
from models.report import Report
from queues.registry import JobContext
from services.errors import NotFound
from services.reports.issuing import (
    Renderer,
    ReportRequest,
    issue,
    parts_ready,
    render_job,
    request_report,
)
from services.reports.rendering import make_renderer
from services.reports.requests import describe_report
from services.reports.signing import SnapshotSigner
from services.reports.verification import open_download, signed_download_url
from tests.test_reports import USCC, make_enterprise, no_dates


async def test_the_card_is_stored_and_announced_before_the_pdf_is_rendered(
    db, settings: Settings, redis: Redis
) -> None:
    enterprise = await make_enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, domains="15"))
    seen: dict[str, Any] = {}

    async def on_card(at_card: Report) -> None:
        stored = await Report.get(id=at_card.id)
        seen.update(status=stored.status, parts=parts_ready(stored), signed=stored.signature)
        seen["view"] = describe_report(settings, stored, enterprise, [])
        seen["png"] = await open_store(settings).exists(stored.png_path or "x")
        name = f"{stored.number}.pdf"
        url = signed_download_url(settings, stored, "pdf")
        e, s = url.split("?e=")[1].split("&s=")
        with pytest.raises(NotFound):  # the PDF link would point at nothing yet
            await open_download(settings, name, e, s, "test")

    signer = SnapshotSigner(settings.report_signing_key)
    done = await issue(report, settings=settings, signer=signer, data_as_of=no_dates,
                       renderer=make_renderer(settings.pki_dir), on_card=on_card)  # fmt: skip

    assert seen["status"] == ReportStatus.RENDERING and seen["signed"] and seen["png"]
    assert seen["parts"] == {"card": True, "pdf": False}
    assert "png_url" in seen["view"] and "pdf_url" not in seen["view"]
    assert seen["view"]["parts"] == {"card": True, "pdf": False}
    assert done.status == ReportStatus.READY and parts_ready(done) == {"card": True, "pdf": True}
    view = describe_report(settings, done, enterprise, [])
    assert {"png_url", "pdf_url", "verify_url"} <= view.keys()


async def test_a_failed_report_offers_no_part(db, settings: Settings, redis: Redis) -> None:
    await make_enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, domains="15"))
    report.status, report.png_path = ReportStatus.FAILED, "x.png"
    await report.save()
    enterprise = await Enterprise.get(id=report.enterprise_id)

    view = describe_report(settings, report, enterprise, [])

    assert view["parts"] == {"card": False, "pdf": False}
    assert "png_url" not in view and "pdf_url" not in view and view["failure"]


async def test_reports_rendered_together_in_one_process_give_every_card_before_any_pdf(
    db, settings: Settings, redis: Redis
) -> None:
    await make_enterprise()
    reports = [await request_report(redis, ReportRequest(uscc=USCC, domains="15")) for _ in "abc"]
    order: list[tuple[str, str]] = []

    def card(snapshot: dict[str, Any]) -> bytes:
        if not order:
            time.sleep(0.5)  # the first card is slow: the other reports are assembled meanwhile
        order.append(("card", snapshot["report_no"]))
        return b"\x89PNG test"

    def pdf(snapshot: dict[str, Any], engine: str, evidence: Any = ()) -> bytes:
        order.append(("pdf", snapshot["report_no"]))
        return b"%PDF-1.7 test"

    handler = render_job(signer=SnapshotSigner(settings.report_signing_key), data_as_of=no_dates,
                         renderer=Renderer(card=card, pdf=pdf))  # fmt: skip
    ctx = JobContext(redis, settings, "reports:render", "report.render", "1-0", "1-0", 1, None)
    await asyncio.gather(*(handler(ctx, {"report_id": r.id}) for r in reports))

    assert [kind for kind, _ in order] == ["card"] * 3 + ["pdf"] * 3, order
    assert {no for _, no in order} == {r.number for r in reports}
    assert all(r.status == ReportStatus.READY for r in await Report.all())
