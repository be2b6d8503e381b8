"""PAdES B-LTA: an outside validator with only the published root; years later; after revocation;
and what must break it (a changed byte in the signed ranges, an incremental update to a page)."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from render.dev_pki import DevPki, make_dev_pki
from render.report import SealMaterial, render_report
from render.seal import SEAL_FIELD, seal_pdf, verify_sealed_pdf
from render.seal_ltv import validate_archival
from services.reports.evidence import evidence_files
from services.reports.snapshot import canonical_json
from tests.test_render_support import sample_pdf, snapshot


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_dev_pki(tmp_path_factory.mktemp("lta-pki"))


def seal_report(pki: DevPki) -> bytes:
    snap = snapshot()
    evidence = evidence_files(canonical_json(snap), "00" * 64, "test-key")
    pdf, _ = render_report(snap, "weasyprint", evidence, seal=SealMaterial.from_dev_pki(pki))
    return pdf


@pytest.fixture(scope="module")
def sealed(pki: DevPki) -> bytes:
    return seal_report(pki)


def seal_expiry(pki: DevPki) -> datetime:
    return x509.load_pem_x509_certificate(pki.signer()[1]).not_valid_after_utc


def test_an_outside_validator_with_only_the_root_finds_it_intact_trusted_timestamped(
    pki: DevPki, sealed: bytes, tmp_path: Path
):
    (tmp_path / "root.pem").write_bytes(pki.root())
    reader = PdfFileReader(io.BytesIO(sealed))
    seal = next(s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD)
    root = load_cert_from_pemder(str(tmp_path / "root.pem"))
    status = validate_pdf_signature(seal, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert "/DSS" in reader.root and reader.root["/DSS"]["/CRLs"]
    assert reader.embedded_signatures[-1].sig_object_type == "/DocTimeStamp"
    check = verify_sealed_pdf(sealed, pki.root())
    assert check and check.timestamped and check.dss and check.archived and check.whole_file


def test_after_the_seal_certificate_expires_the_timestamps_keep_the_report_valid(
    pki: DevPki, sealed: bytes
):
    later = seal_expiry(pki) + timedelta(days=30)
    # A validator then fetches the CA's CRL of that day (for the TSA, still in service).
    check = validate_archival(sealed, pki.root(), [pki.crl(at=later)], at=later)
    assert check, check.indication
    assert check.proven_at is not None and check.proven_at < seal_expiry(pki)
    # Without the timestamps' proof, the same moment finds the certificate expired.
    reader = PdfFileReader(io.BytesIO(sealed))
    seal = next(s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD)
    context = ValidationContext(trust_roots=[load_cert_from_pemder_bytes(pki.root())],
                                moment=later, allow_fetching=False)  # fmt: skip
    assert not validate_pdf_signature(seal, context).trusted


def load_cert_from_pemder_bytes(pem: bytes):  # type: ignore[no-untyped-def]
    from pyhanko.keys import load_certs_from_pemder_data

    return next(iter(load_certs_from_pemder_data(pem)))


def test_revoking_the_seal_certificate_after_issue_leaves_earlier_reports_valid(
    tmp_path: Path,
):
    pki = make_dev_pki(tmp_path / "pki")
    before = seal_report(pki)
    pki.revoke(pki.signer()[1], datetime.now(UTC) + timedelta(seconds=1))
    crl = pki.crl(at=datetime.now(UTC) + timedelta(minutes=1))
    later = datetime.now(UTC) + timedelta(minutes=2)
    check = validate_archival(before, pki.root(), [crl], at=later)
    assert check, check.indication
    # No new report can be sealed with the revoked certificate (revocation is hard-fail).
    asyncio.run(asyncio.sleep(1.1))
    with pytest.raises(Exception, match="certificate could not be validated"):
        key, cert, chain = pki.signer()
        seal_pdf(sample_pdf(), key, cert, chain, trust=SealMaterial.from_dev_pki(pki).trust)


def signed_ranges(pdf: bytes) -> list[range]:
    found = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    return [range(int(a), int(a) + int(b)) for a, b, _, _ in found] + [
        range(int(c), int(c) + int(d)) for _, _, c, d in found
    ]


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9, 0.999])
def test_one_changed_byte_in_the_signed_ranges_fails(pki: DevPki, sealed: bytes, where: float):
    seal_range = signed_ranges(sealed)[0]  # the seal's first range: the report itself
    offset = seal_range.start + int(len(seal_range) * where)
    changed = bytearray(sealed)
    changed[offset] ^= 0x01
    check = verify_sealed_pdf(bytes(changed), pki.root())
    assert not check, offset


def test_an_incremental_update_that_changes_a_page_fails(pki: DevPki, sealed: bytes):
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    # A white box over the first page's text: the report now says something else.
    cover = generic.StreamObject(stream_data=b"q 1 1 1 rg 60 700 300 60 re f Q")
    writer.add_stream_to_page(0, writer.add_object(cover))
    out = io.BytesIO()
    writer.write(out)
    check = verify_sealed_pdf(out.getvalue(), pki.root())
    assert not check and check.intact and not check.whole_file
    assert check.reason == "签章后文件被追加修改"
