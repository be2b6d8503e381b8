"""Published evidence: keys.json, /verify/{no}.json, the offline checker, and old reports."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from redis.asyncio import Redis

from config.settings import Settings
from infra.storage import open_store, read_all
from models.audit import AuditEntry
from models.enterprise import Enterprise
from models.enums import ReportStatus
from models.report import Report
from render.seal import verify_sealed_pdf
from services.reports.pdf_check import MAX_PDF_BYTES, check_pdf
from services.reports.signing import SnapshotSigner
from services.reports.signing_keys import published_keys
from services.reports.verification import verify_report
from tests.test_reports import issued, make_enterprise

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = ROOT / "tools" / "verify_offline.py"
LEGACY = Path(__file__).parent / "data" / "legacy_report"
JSON = {"Accept": "application/json"}


async def test_keys_json_and_the_evidence_route_let_anyone_check_the_signature(
    cli, settings: Settings, redis: Redis
):
    report = await issued(settings, redis, domains="15,37")
    keys = await cli.get("/verify/keys.json")
    assert keys.status == 200 and keys.headers["Cache-Control"] == "no-store"
    ring = await keys.json()
    signer = SnapshotSigner(settings.report_signing_key)
    [key] = [k for k in ring["keys"] if k["key_id"] == signer.key_id]
    assert key["valid_to"] is None and ring["algorithm"] == "Ed25519"

    evidence = await cli.get(f"/verify/{report.number}.json?c={report.verify_code}")
    assert evidence.status == 200 and evidence.headers["Cache-Control"] == "no-store"
    body = await evidence.json()
    signed = base64.b64decode(body["snapshot_b64"])
    assert json.loads(signed) == body["snapshot"] == report.snapshot
    assert body["signature"]["key_id"] == signer.key_id
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    public.verify(bytes.fromhex(body["signature"]["signature"]), signed)  # raises if wrong

    assert await AuditEntry.filter(action="report.evidence_fetched").count() == 1
    wrong = await cli.get(f"/verify/{report.number}.json?c=AAAAAAAA")
    assert wrong.status == 404 and (await wrong.json())["code"] == "report_not_found"
    page = await cli.get(f"/verify/{report.number}?c={report.verify_code}")
    assert page.headers["Cache-Control"] == "no-store"
    assert (await cli.get("/verify/root.pem")).status == 200


async def test_rotating_the_key_keeps_the_old_one_published_and_old_reports_genuine(
    db, settings: Settings, redis: Redis
):
    old = await issued(settings, redis, domains="15")
    rotated = SnapshotSigner(base64.b64encode(bytes(range(1, 33))).decode())
    result = await verify_report(old.number, old.verify_code, rotated)
    assert result["genuine"]
    first, second = (await published_keys())["keys"]
    assert first["key_id"] == old.signing_key_id and first["valid_to"] is not None
    assert second["key_id"] == rotated.key_id and second["valid_to"] is None


def _embedded_streams(pdf: bytes) -> list[re.Match[bytes]]:
    pattern = rb"obj\s*<<((?:(?!endobj).)*?)>>\s*stream\r?\n"
    return [m for m in re.finditer(pattern, pdf, re.S) if b"/EmbeddedFile" in m.group(1)]


async def test_the_offline_tool_checks_a_copied_pdf_alone_and_fails_on_a_changed_byte(
    cli, settings: Settings, redis: Redis, tmp_path: Path
):
    report = await issued(settings, redis, domains="15,37")
    keys = await (await cli.get("/verify/keys.json")).read()
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "report.pdf").write_bytes(await read_all(open_store(settings), report.pdf_path))
    (alone / "keys.json").write_bytes(keys)

    def offline(pdf: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-I", str(OFFLINE), pdf, "keys.json"],
                              cwd=alone, capture_output=True, text=True, env={})  # fmt: skip

    ok = offline("report.pdf")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"签名有效：报告 {report.number}")

    # One byte of the embedded snapshot changed (re-compressed, so the tool reads it).
    pdf = (alone / "report.pdf").read_bytes()
    for m in _embedded_streams(pdf):
        end = pdf.index(b"endstream", m.end())
        data = zlib.decompressobj().decompress(pdf[m.end() : end])
        if b'"report_no"' in data:
            changed = data.replace(b'"report_no":"YX', b'"report_no":"YY', 1)
            assert changed != data
            pdf = pdf[: m.end()] + zlib.compress(changed) + b"\n" + pdf[end:]
            break
    (alone / "tampered.pdf").write_bytes(pdf)
    bad = offline("tampered.pdf")
    assert bad.returncode == 1 and bad.stdout.startswith("签名核验未通过")
    root = settings.pki_dir.joinpath("dev-root-ca.pem").read_bytes()
    assert not await asyncio.to_thread(verify_sealed_pdf, pdf, root)


async def load_legacy_report() -> tuple[Report, dict]:
    row = json.loads((LEGACY / "report.json").read_text())
    enterprise = await Enterprise.get_or_none(uscc=row["snapshot"]["sections"][0]["uscc"])
    enterprise = enterprise or await make_enterprise()
    report = await Report.create(
        number=row["number"], verify_code=row["verify_code"], enterprise=enterprise,
        domains=row["domains"], span_from=date.fromisoformat(row["span_from"]),
        span_to=date.fromisoformat(row["span_to"]), purpose=row["purpose"],
        channel=row["channel"], status=ReportStatus.READY, snapshot=row["snapshot"],
        snapshot_sha256=row["snapshot_sha256"], signature=row["signature"],
        pdf_sha256=row["pdf_sha256"], pdf_path="legacy.pdf",
    )  # fmt: skip
    return report, row


async def test_a_report_issued_before_this_format_still_verifies(
    cli, settings: Settings, tmp_path: Path
):
    report, row = await load_legacy_report()
    signer = SnapshotSigner(settings.report_signing_key)
    result = await verify_report(report.number, report.verify_code, signer)
    assert result["genuine"] and result["state"] == "good", result
    assert result["key_id"] is None

    pdf = (LEGACY / "report.pdf").read_bytes()
    root = (LEGACY / "root.pem").read_bytes()
    checked = await check_pdf(pdf, root, report)
    assert checked.genuine and checked.embedded is None and checked.same_as_issued
    assert checked.seal.intact and not checked.seal.timestamped  # PAdES B-B, as issued then

    # The evidence route says which bytes the old signature covers: their SHA-256.
    body = await (await cli.get(f"/verify/{report.number}.json?c={report.verify_code}")).json()
    assert body["signature"]["key_id"] is None
    digest = hashlib.sha256(base64.b64decode(body["snapshot_b64"])).digest()
    signer.public_key.verify(bytes.fromhex(body["signature"]["signature"]), digest)

    # A changed stored snapshot of an old report is caught too.
    snapshot = dict(row["snapshot"], purpose="bond")
    await Report.filter(id=report.id).update(snapshot=snapshot)
    assert not (await verify_report(report.number, report.verify_code, signer))["genuine"]
    # And the offline tool says plainly that an old PDF carries nothing to check offline.
    (tmp_path / "keys.json").write_text('{"keys": []}')
    shutil.copy(LEGACY / "report.pdf", tmp_path / "old.pdf")
    old = subprocess.run([sys.executable, "-I", str(OFFLINE), "old.pdf", "keys.json"],
                         cwd=tmp_path, capture_output=True, text=True, env={})  # fmt: skip
    assert old.returncode == 1 and "未通过" in old.stdout


async def test_the_optional_server_side_check_takes_the_pdf_and_caps_its_size(
    cli, settings: Settings, redis: Redis
):
    report = await issued(settings, redis, domains="15")
    pdf = await read_all(open_store(settings), report.pdf_path)
    path = f"/verify/{report.number}/check?c={report.verify_code}"
    ok = await cli.post(path, data=io.BytesIO(pdf), headers={"Content-Type": "application/pdf"})
    body = await ok.json()
    assert ok.status == 200 and body["genuine"], body
    assert (
        body["findings"][0].startswith("电子签章有效") and ok.headers["Cache-Control"] == "no-store"
    )
    changed = pdf.replace(b"/Producer", b"/Producex", 1)
    bad = await (await cli.post(path, data=io.BytesIO(changed))).json()
    assert not bad["genuine"] and "电子签章无效" in bad["findings"][0]
    too_big = await cli.post(path, data=io.BytesIO(b"0" * (MAX_PDF_BYTES + 1)))
    assert too_big.status == 400 and (await too_big.json())["code"] == "pdf_too_large"
    wrong = await cli.post(f"/verify/{report.number}/check?c=AAAAAAAA", data=io.BytesIO(pdf))
    assert wrong.status == 404
    audited = await AuditEntry.filter(action="report.pdf_checked", object_id=report.number)
    assert [a.detail["genuine"] for a in audited] == [True, False]
