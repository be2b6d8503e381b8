"""The electronic seal: PAdES over the whole file, checked against the development root."""

from __future__ import annotations

import re
import stat
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from render import SealMaterial, make_dev_pki, render_report, seal_pdf, verify_sealed_pdf
from tests.test_render_support import dev_pki, sample_pdf, snapshot


@cache
def sealed() -> bytes:
    key, cert, chain = dev_pki().signer()
    return seal_pdf(sample_pdf(), key, cert, chain)


def signed_ranges(pdf: bytes) -> tuple[range, range]:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert match, "no /ByteRange in the sealed PDF"
    a, b, c, d = (int(x) for x in match.groups())
    return range(a, a + b), range(c, c + d)


def flip(pdf: bytes, offset: int) -> bytes:
    changed = bytearray(pdf)
    changed[offset] ^= 0x01
    return bytes(changed)


def test_a_sealed_report_validates_against_the_dev_root() -> None:
    check = verify_sealed_pdf(sealed(), dev_pki().root())

    assert check, check
    assert check.intact and check.trusted and check.whole_file
    assert "电子签章" in check.signer


def test_changing_one_byte_inside_the_signed_range_breaks_the_seal() -> None:
    pdf = sealed()
    offset = pdf.index(b"(Typst")  # in the /Creator string: the file still parses
    assert offset in signed_ranges(pdf)[0]

    check = verify_sealed_pdf(flip(pdf, offset), dev_pki().root())

    assert not check
    assert not check.intact, check


@settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_any_one_byte_change_in_the_signed_ranges_breaks_the_seal(data: st.DataObject) -> None:
    first, second = signed_ranges(sealed())
    offset = data.draw(st.sampled_from([first, second]).flatmap(st.sampled_from))

    assert not verify_sealed_pdf(flip(sealed(), offset), dev_pki().root())


def test_a_seal_from_another_root_is_not_trusted(tmp_path: Path) -> None:
    other = make_dev_pki(tmp_path)

    check = verify_sealed_pdf(sealed(), other.root())

    assert not check and check.intact and not check.trusted


def test_bytes_appended_after_sealing_are_detected() -> None:
    check = verify_sealed_pdf(sealed() + b"\n%appended\n", dev_pki().root())

    assert not check and not check.whole_file


def test_an_unsealed_or_damaged_pdf_is_invalid_without_raising() -> None:
    assert verify_sealed_pdf(sample_pdf(), dev_pki().root()).reason == "未找到电子签章"
    assert not verify_sealed_pdf(b"not a pdf", dev_pki().root())


def test_make_dev_pki_keeps_existing_keys_and_writes_them_private(tmp_path: Path) -> None:
    first = make_dev_pki(tmp_path / "pki")
    cert = first.signer_cert.read_bytes()

    again = make_dev_pki(tmp_path / "pki")

    assert again.signer_cert.read_bytes() == cert
    for key in (first.signer_key, first.root_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert make_dev_pki(tmp_path / "pki", force=True).signer_cert.read_bytes() != cert


def test_render_report_gives_a_sealed_pdf_and_a_card() -> None:
    key, cert, _ = dev_pki().signer()
    seal = SealMaterial(key_pem=key, cert_pem=cert)

    pdf, png = render_report(snapshot(), "weasyprint", seal=seal)

    assert verify_sealed_pdf(pdf, dev_pki().root())
    assert png.startswith(b"\x89PNG")
    assert "key=<hidden>" in repr(seal) and "PRIVATE" not in repr(seal)


def test_later_seals_reuse_the_signature_room_learnt_from_the_first() -> None:
    import render.seal as seal

    key, cert, chain = dev_pki().signer()
    seal._RESERVED.clear()

    first = seal_pdf(sample_pdf(), key, cert, chain)
    learnt = seal._RESERVED[(cert, False)]
    second = seal_pdf(sample_pdf(), key, cert, chain)

    assert seal._reserved_in(second, len(sample_pdf())) == learnt
    assert verify_sealed_pdf(first, dev_pki().root()) and verify_sealed_pdf(
        second, dev_pki().root()
    )


def test_a_signature_that_outgrows_the_learnt_room_is_sealed_again_with_a_fresh_estimate() -> None:
    import render.seal as seal

    key, cert, chain = dev_pki().signer()
    seal._RESERVED[(cert, False)] = 200  # far too small for any CMS signature

    sealed = seal_pdf(sample_pdf(), key, cert, chain)

    assert verify_sealed_pdf(sealed, dev_pki().root())
    assert seal._RESERVED[(cert, False)] > 200
