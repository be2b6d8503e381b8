"""Issuing and verifying reports, end to end on the real engines."""

from __future__ import annotations

import asyncio
import copy
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pypdf import PdfReader
from redis.asyncio import Redis
from stdnum.cn import uscc as stdnum_uscc

from config.settings import Settings
from handlers.app import create_app
from infra.storage import open_store, read_all
from models.audit import AuditEntry
from models.catalogue import Department
from models.enterprise import Enterprise
from models.enums import RecordKind, RecordStatus, ReportStatus
from models.record import Record
from models.report import Report
from queues.registry import JobContext
from services.errors import InvalidRequest, NotFound
from services.reports.issuing import Renderer, ReportRequest, issue, render_job, request_report
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner, verify_snapshot
from services.reports.verification import signed_download_url, verify_report
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
NAME = "重庆渝信示范科技股份有限公司"


def valid_uscc(body: str = "91500103MA5U7R6P0") -> str:
    return body + stdnum_uscc.calc_check_digit(body)


USCC = valid_uscc()


async def make_enterprise() -> Enterprise:
    ent = await Enterprise.create(
        uscc=USCC, name=NAME, legal_rep_name="张三", legal_rep_id_hash="h", district="渝中区"
    )
    dept = await Department.get(code="ecology")
    await Record.create(
        enterprise=ent, domain_id=15, department=dept, source_ref="ECO-1",
        kind=RecordKind.ADMINISTRATIVE_PENALTY, decision_no="渝环罚〔2023〕88号",
        authority="重庆市生态环境局", decision_date=date(2023, 5, 6),
        summary="废气超标排放", status=RecordStatus.IN_FORCE, content_hash="x",
        pushed_at=datetime(2023, 5, 8, tzinfo=UTC),
    )  # fmt: skip
    return ent


async def no_dates(domains: Any) -> dict[int, date | None]:
    return {d: date(2026, 11, 20) for d in domains}


async def issued(settings: Settings, redis: Redis, **kw: Any) -> Report:
    await make_enterprise()
    kw.setdefault("start", "2021-01-01")  # the sample record is from 2023
    report = await request_report(redis, ReportRequest(uscc=USCC, **kw))
    return await issue(
        report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
        data_as_of=no_dates, renderer=make_renderer(settings.pki_dir),
    )  # fmt: skip


async def test_an_issued_report_is_signed_stored_and_its_pdf_names_the_enterprise(
    db, settings: Settings, redis: Redis
):
    report = await issued(settings, redis, domains="15,37", start="2021-01-01")
    assert report.status == ReportStatus.READY
    assert report.number.startswith("YX") and len(report.verify_code) == 8
    pdf = await read_all(open_store(settings), report.pdf_path)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = text.replace(" ", "").replace("\n", "")
    assert NAME in flat and report.number in flat and "渝环罚〔2023〕88号" in flat
    png = await read_all(open_store(settings), report.png_path)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    result = await verify_report(report.number, report.verify_code, SnapshotSigner(
        settings.report_signing_key))  # fmt: skip
    assert result["genuine"] and not result["data_changed"]
    assert result["pdf_sha256"] == __import__("hashlib").sha256(pdf).hexdigest()
    assert await AuditEntry.filter(action="report.issued", object_id=report.number).exists()
    assert await AuditEntry.filter(action="report.verified", object_id=report.number).exists()


async def test_correcting_a_record_makes_verification_say_the_data_changed(
    db, settings: Settings, redis: Redis
):
    report = await issued(settings, redis, domains="15")
    await Record.filter(source_ref="ECO-1").update(status=RecordStatus.REPAIRED)
    signer = SnapshotSigner(settings.report_signing_key)
    result = await verify_report(report.number, report.verify_code, signer)
    assert result["genuine"] and result["data_changed"]
    assert result["data_status"] == "报告出具后数据已更新"


async def test_a_wrong_code_answers_like_an_unknown_report(db, settings: Settings, redis: Redis):
    report = await issued(settings, redis, domains="15")
    signer = SnapshotSigner(settings.report_signing_key)
    with pytest.raises(NotFound) as wrong:
        await verify_report(report.number, "AAAAAAAA", signer)
    with pytest.raises(NotFound) as unknown:
        await verify_report("YX20200101999999", report.verify_code, signer)
    assert wrong.value.to_dict() == unknown.value.to_dict()


async def test_tampering_with_the_stored_snapshot_fails_verification(
    db, settings: Settings, redis: Redis
):
    report = await issued(settings, redis, domains="15")
    snapshot = copy.deepcopy(report.snapshot)
    snapshot["sections"][0]["enterprise_name"] = "重庆另一家公司"
    await Report.filter(id=report.id).update(snapshot=snapshot)
    result = await verify_report(report.number, report.verify_code,
                                 SnapshotSigner(settings.report_signing_key))  # fmt: skip
    assert not result["genuine"] and "未通过" in result["verdict"]


SAMPLE = {
    "report_no": "YX20261127000001",
    "span": {"from": "2023-01-01", "to": "2026-11-27"},
    "sections": [{"enterprise_name": NAME, "uscc": USCC, "domains": [
        {"number": 15, "data_as_of": "2026-11-20", "records": [
            {"decision_no": "渝环罚〔2023〕88号", "status": "in_force"}]}]}],
}  # fmt: skip


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return [prefix]


@hsettings(max_examples=60, deadline=None)
@given(st.data())
def test_changing_any_byte_of_any_shown_field_breaks_the_signature(data):
    signer = SnapshotSigner("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    from services.reports.snapshot import canonical_json

    signature = signer.sign(canonical_json(SAMPLE))
    assert verify_snapshot(signer.public_key, canonical_json(SAMPLE), signature, legacy=False)
    path = data.draw(st.sampled_from(_paths(SAMPLE)))
    tampered = copy.deepcopy(SAMPLE)
    target = tampered
    for key in path[:-1]:
        target = target[key]
    old = str(target[path[-1]])
    pos = data.draw(st.integers(0, max(0, len(old) - 1)))
    new_char = data.draw(
        st.characters(blacklist_characters=old[pos : pos + 1] or "\0", blacklist_categories=("Cs",))
    )
    target[path[-1]] = old[:pos] + new_char + old[pos + 1 :]
    assert not verify_snapshot(signer.public_key, canonical_json(tampered), signature, legacy=False)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"uscc": "91500103MA5U7R6P0Z"}, "invalid_uscc"),
        ({"uscc": valid_uscc("91500105MA5U7R6P1")}, "unknown_enterprise"),
        ({"domains": "41"}, "unknown_domain"),
        ({"start": "2019-06-01"}, "span_before_2020"),
        ({"end": "2999-01-01"}, "span_in_future"),
        ({"purpose": "gambling"}, "unknown_purpose"),
    ],
)
async def test_bad_requests_get_clear_chinese_errors_and_store_nothing(db, redis: Redis, kw, code):
    await make_enterprise()
    with pytest.raises((InvalidRequest, NotFound)) as err:
        await request_report(redis, ReportRequest(**{"uscc": USCC, **kw}))
    assert err.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)
    assert await Report.all().count() == 0
    assert await redis.xlen("reports:render") == 0


async def test_a_second_delivery_of_the_render_job_makes_no_second_report(
    db, settings: Settings, redis: Redis
):
    await make_enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, domains="15"))
    handler = render_job(signer=SnapshotSigner(settings.report_signing_key),
                         data_as_of=no_dates, renderer=make_renderer(settings.pki_dir))  # fmt: skip
    ctx = JobContext(redis, settings, "reports:render", "report.render", "1-0", "1-0", 1, None)
    await handler(ctx, {"report_id": report.id})
    first = await Report.get(id=report.id)
    await handler(ctx, {"report_id": report.id})
    again = await Report.get(id=report.id)
    assert await Report.all().count() == 1
    assert again.snapshot_sha256 == first.snapshot_sha256 and again.ready_at == first.ready_at


async def test_the_last_failed_delivery_marks_the_report_failed_with_a_reason(
    db, settings: Settings, redis: Redis
):
    await make_enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, domains="15"))

    def font_missing(snapshot: dict, engine: str, evidence: Any) -> bytes:
        raise RuntimeError("font missing")

    broken = Renderer(card=lambda snapshot: b"\x89PNG test", pdf=font_missing)

    handler = render_job(signer=SnapshotSigner(settings.report_signing_key),
                         data_as_of=no_dates, renderer=broken, max_deliveries=2)  # fmt: skip
    for delivery in (1, 2):
        ctx = JobContext(redis, settings, "reports:render", "report.render", "1-0", "1-0",
                         delivery, None)  # fmt: skip
        with pytest.raises(RuntimeError):
            await handler(ctx, {"report_id": report.id})
        status = (await Report.get(id=report.id)).status
        assert status == (ReportStatus.FAILED if delivery == 2 else ReportStatus.RENDERING)
    assert "font missing" in (await Report.get(id=report.id)).failure_reason


@pytest.fixture
async def app_with_workers(aiohttp_client, settings: Settings, db: str, redis: Redis):
    return await aiohttp_client(create_app(settings, with_workers=2))


async def test_through_the_queue_the_verify_page_and_downloads_work(
    app_with_workers, settings: Settings, redis: Redis
):
    cli = app_with_workers
    await make_enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, domains="15,37"))
    for _ in range(200):
        report = await Report.get(id=report.id)
        if report.status == ReportStatus.READY:
            break
        await asyncio.sleep(0.05)
    assert report.status == ReportStatus.READY, report.failure_reason
    verify_path = urlsplit(report.snapshot["verify_url"])
    page = await cli.get(f"{verify_path.path}?{verify_path.query}")
    html = await page.text()
    assert page.status == 200 and "报告真实有效" in html and NAME in html
    as_json = await cli.get(f"{verify_path.path}?{verify_path.query}",
                            headers={"Accept": "application/json"})  # fmt: skip
    assert (await as_json.json())["genuine"] is True
    bad = await cli.get(
        f"/verify/{report.number}?c=WRONGCOD", headers={"Accept": "application/json"}
    )
    assert (
        bad.status == 404
        and (await bad.json())["message"] == "未找到该报告，请核对报告编号和核验码"
    )
    pem = await (await cli.get("/verify/pubkey")).text()
    assert "BEGIN PUBLIC KEY" in pem

    url = urlsplit(signed_download_url(settings, report, "pdf"))
    ok = await cli.get(f"{url.path}?{url.query}")
    assert ok.status == 200 and (await ok.read()).startswith(b"%PDF")
    tampered = url.query.replace("s=", "s=x")
    assert (await cli.get(f"{url.path}?{tampered}")).status == 403
    other = url.path.replace(".pdf", ".png")
    assert (await cli.get(f"{other}?{url.query}")).status == 403
    expired = urlsplit(signed_download_url(settings, report, "pdf", now=0))
    assert (await cli.get(f"{expired.path}?{expired.query}")).status == 403
    assert await AuditEntry.filter(action="report.downloaded").count() == 1


async def test_verification_is_rate_limited(cli, redis: Redis):
    import time

    if time.time() % 60 > 55:  # the window is per minute: do not straddle its edge
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    statuses = [
        (await cli.get("/verify/YX1?c=X", headers={"Accept": "application/json"})).status
        for _ in range(32)
    ]
    assert statuses[:30] == [404] * 30 and statuses[-1] == 429


async def test_the_report_and_verify_commands_issue_and_check_a_report(
    database_url, db, tmp_path: Path, settings: Settings
):
    await make_enterprise()
    env = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
        "REPORTS_DIR": str(tmp_path / "stored"), "PKI_DIR": str(settings.pki_dir),
    }  # fmt: skip

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "run.py", *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True)  # fmt: skip

    made = run("report", "--uscc", USCC, "--domains", "15", "--out", str(tmp_path / "out"))
    assert made.returncode == 0, made.stderr
    number, code = made.stdout.split()[1], made.stdout.split()[3]
    pdf = tmp_path / "out" / f"{number}.pdf"
    assert pdf.exists() and (tmp_path / "out" / f"{number}.png").exists()
    checked = run("verify", number, code, "--pdf", str(pdf))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[0] == "报告真实有效，出具后数据未变化"
    assert "电子签章有效" in checked.stdout and "内嵌报告快照的签名有效" in checked.stdout
    pdf.write_bytes(pdf.read_bytes() + b"\n%tamper")
    tampered = run("verify", number, code, "--pdf", str(pdf))
    assert tampered.returncode == 1
    assert tampered.stdout.splitlines()[0] == "PDF 文件核验未通过，请勿采信"
    unknown = run("verify", number, "WRONGCOD")
    assert unknown.returncode == 2 and unknown.stdout.startswith("无法核验：未找到该报告")
    unreadable = run("verify", number, code, "--pdf", str(tmp_path / "missing.pdf"))
    assert unreadable.returncode == 2 and unreadable.stdout.startswith("无法核验")
    refused = run("report", "--uscc", "123", "--out", str(tmp_path / "out"))
    assert refused.returncode == 2 and "统一社会信用代码无效" in refused.stderr
