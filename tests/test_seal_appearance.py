"""The visible seal on the issuer line, and the development CRL and TSA served over HTTP."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import tsp
from PIL import Image
from pypdf import PdfReader

from config.settings import Settings
from handlers.app import create_app
from render.dev_pki import DevPki, make_dev_pki
from render.pdf import Engine, typeset_report
from render.report import SealMaterial, render_report
from render.seal import SEAL_FIELD, seal_pdf, verify_sealed_pdf
from render.seal_appearance import (
    appearance_image,
    encoded_appearance,
    place_seal,
    placement,
    seal_image,
)
from render.view import DEFAULT_ISSUER, view_from_snapshot
from tests.test_render_support import sample_pdf, sample_snapshot, snapshot

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
A4_PT = (pytest.approx(595.276, abs=0.01), pytest.approx(841.89, abs=0.01))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_dev_pki(tmp_path_factory.mktemp("seal-pki"))


# Typst says where it printed the name (<issuer-at>); WeasyPrint's PDF is searched for it.
@pytest.mark.parametrize("engine", ["typst", "weasyprint"])
def test_the_seal_is_the_signature_appearance_on_the_issuer_line_of_the_last_page(
    pki: DevPki, engine: Engine
):
    pdf, _ = render_report(snapshot(), engine, seal=SealMaterial.from_dev_pki(pki))
    reader = PdfReader(io.BytesIO(pdf))
    last = reader.pages[-1]
    widgets = [a.get_object() for a in last.get("/Annots", [])]
    seal = next(w for w in widgets if w.get("/T") == SEAL_FIELD)
    x1, y1, x2, y2 = (float(v) for v in seal["/Rect"])
    assert 110 < y2 - y1 < 130 and x2 - x1 > 200  # 42 mm round seal, the note beside it
    assert "/N" in seal["/AP"]  # it has a normal appearance: viewers and printers draw it
    spot = place_seal(pdf, DEFAULT_ISSUER)
    assert spot.found and spot.page == len(reader.pages) - 1
    assert (round(x1), round(y1), round(x2), round(y2)) == spot.box
    assert verify_sealed_pdf(pdf, pki.root())  # the appearance is inside what is signed

    # Drawn: red ink in the seal's half of the box when the last page is rasterised.
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = SHOTS / "seal-last-page"
    import subprocess

    subprocess.run(["pdftoppm", "-f", str(len(reader.pages)), "-l", str(len(reader.pages)),
                    "-r", "72", "-png", "-singlefile", "-", f"{page}-{engine}"], input=pdf,
                   check=True)  # fmt: skip
    image = Image.open(f"{page}-{engine}.png").convert("RGB")
    height = image.height
    crop = image.crop((round(x2 - 119), round(height - y2), round(x2), round(height - y1)))
    raw = crop.tobytes()
    pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
    red = sum(1 for r, g, b in pixels if r > 150 and g < 90 and b < 90)
    assert red > 0.08 * crop.width * crop.height, red


@pytest.mark.parametrize("related", [False, True], ids=["plain", "related"])
def test_typst_reports_where_it_printed_the_issuer_exactly_where_the_text_search_finds_it(
    related: bool,
):
    snap = sample_snapshot() if related else snapshot()
    typeset = typeset_report(view_from_snapshot(snap))

    anchor = typeset.issuer_at
    assert anchor is not None
    pages = len(PdfReader(io.BytesIO(typeset.pdf)).pages)
    assert anchor.page == pages - 1 and (anchor.page_width, anchor.page_height) == A4_PT
    searched = place_seal(typeset.pdf, DEFAULT_ISSUER)
    assert searched.found and placement(anchor, DEFAULT_ISSUER) == searched


def test_without_an_anchor_from_the_engine_the_seal_finds_the_name_in_the_text(pki: DevPki):
    key, cert, chain = pki.signer()
    typeset = typeset_report(view_from_snapshot(snapshot()))
    anchored = seal_pdf(typeset.pdf, key, cert, chain, issuer=DEFAULT_ISSUER,
                        issuer_at=typeset.issuer_at)  # fmt: skip
    searched = seal_pdf(typeset.pdf, key, cert, chain, issuer=DEFAULT_ISSUER)
    assert seal_rect(anchored) == seal_rect(searched)
    assert verify_sealed_pdf(anchored, pki.root()) and verify_sealed_pdf(searched, pki.root())


def test_the_seal_picture_is_encoded_once_and_embedded_as_the_same_pixels(pki: DevPki):
    key, cert, chain = pki.signer()
    first = encoded_appearance(DEFAULT_ISSUER)
    pdf = seal_pdf(sample_pdf(), key, cert, chain, issuer=DEFAULT_ISSUER)
    assert encoded_appearance(DEFAULT_ISSUER) is first  # cached: nothing is compressed per seal

    widget = seal_widget(pdf)
    form = widget["/AP"]["/N"].get_object()
    images = [x.get_object() for x in form["/Resources"]["/XObject"].values()]
    image = next(x for x in images if x.get("/Subtype") == "/Image")
    drawn = appearance_image(DEFAULT_ISSUER)
    assert (image["/Width"], image["/Height"]) == drawn.size
    assert image.get_data() == drawn.convert("RGB").tobytes()
    assert image["/SMask"].get_object().get_data() == drawn.getchannel("A").tobytes()


def seal_widget(pdf: bytes) -> Any:
    last = PdfReader(io.BytesIO(pdf)).pages[-1]
    widgets = [a.get_object() for a in last.get("/Annots", [])]
    return next(w for w in widgets if w.get("/T") == SEAL_FIELD)


def seal_rect(pdf: bytes) -> tuple[float, ...]:
    return tuple(float(v) for v in seal_widget(pdf)["/Rect"])


def test_the_seal_image_is_print_resolution_and_transparent_outside_the_ink():
    img = seal_image(DEFAULT_ISSUER)
    assert img.width >= 900 and img.mode == "RGBA"  # >= 550 dpi at 42 mm
    assert img.getpixel((5, 5))[3] == 0 and img.getpixel((img.width // 2, img.height // 2))[3] > 0


def test_a_pdf_without_the_issuer_name_gets_the_seal_at_a_fallback_spot():
    from tests.test_render_support import sample_pdf

    spot = place_seal(sample_pdf(), "不存在的出具单位名称")
    assert not spot.found and spot.box[0] >= 10 and spot.box[1] > 0


async def test_the_dev_crl_and_tsa_are_served_and_a_seal_timestamped_over_http_validates(
    aiohttp_server, settings: Settings, db: str, redis, tmp_path: Path
):
    pki = make_dev_pki(tmp_path / "pki")
    app = create_app(replace(settings, pki_dir=tmp_path / "pki"), with_dev_pki=True)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    async with __import__("aiohttp").ClientSession() as http:
        async with http.get(f"{base}/verify/pki/root.crl") as r:
            assert r.status == 200 and r.content_type == "application/pkix-crl"
            crl = asn1_crl.CertificateList.load(await r.read())
            assert crl.issuer.native["common_name"].startswith("YuCredit Dev Root CA")
        async with http.get(f"{base}/verify/root.pem") as r:
            assert await r.read() == pki.root()
        async with http.post(
            f"{base}/verify/pki/tsa",
            data=b"junk",
            headers={"Content-Type": "application/timestamp-query"},
        ) as r:
            reply = await r.read()  # SEQUENCE { PKIStatusInfo }, no token
            assert tsp.PKIStatusInfo.load(reply[2:])["status"].native == "rejection"
        async with http.post(f"{base}/verify/pki/tsa", data=b"x") as r:
            assert r.status == 415
    seal = SealMaterial.from_dev_pki(pki, tsa_url=f"{base}/verify/pki/tsa")
    pdf, _ = await asyncio.to_thread(render_report, snapshot(), "weasyprint", (), seal)
    check = await asyncio.to_thread(verify_sealed_pdf, pdf, pki.root())
    assert check and check.timestamped and check.archived
