"""The PNG card the bot sends, the QR helpers and the font lookup."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from render import (
    FontNotFoundError,
    find_font,
    qr_png,
    qr_svg,
    render_card,
    view_from_snapshot,
)
from render import fonts as fonts_module
from render.card import MAX_BYTES, WIDTH, clear_headline
from tests.test_render_support import decode_qr, domain, record, sample_snapshot, snapshot

URL = "https://credit.cq.example/verify/YX20250301000123?c=K7Q2MX"


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_the_card_is_1080_wide_under_2_mb_and_its_qr_decodes() -> None:
    png = render_card(view_from_snapshot(sample_snapshot()))
    image = _open(png)

    assert image.format == "PNG"
    assert image.width == WIDTH == 1080
    assert len(png) <= MAX_BYTES
    assert decode_qr(image) == [URL]


def test_a_long_name_and_many_findings_grow_the_card_instead_of_clipping() -> None:
    short = _open(render_card(view_from_snapshot(snapshot())))
    findings = [domain(n, records=[record()]) for n in range(1, 41)]
    related = [
        {
            "enterprise_name": f"重庆测试关联企业第{i}分公司",
            "uscc": "91500000MA5U000000",
            "relation": "branch",
            "domains": [domain(1)],
        }
        for i in range(8)
    ]
    long_name = "重庆" + "非常长的企业名称" * 8 + "有限公司"
    big = render_card(
        view_from_snapshot(snapshot(name=long_name, domains=findings, related=related))
    )
    image = _open(big)

    assert image.width == 1080 and image.height > short.height + 1000
    assert len(big) <= MAX_BYTES
    assert decode_qr(image)


def test_qr_png_decodes_and_qr_svg_is_vector() -> None:
    assert decode_qr(_open(qr_png(URL))) == [URL]
    svg = qr_svg(URL)
    assert svg.startswith("<svg") and "<path" in svg and "<image" not in svg


def test_the_cjk_fonts_are_found() -> None:
    for role in ("serif", "serif-bold", "sans", "sans-bold"):
        font = find_font(role)  # type: ignore[arg-type]
        assert Path(font.path).is_file()
        assert "CJK" in font.family or "WenQuanYi" in font.family


def test_a_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = (("No Such CJK Font", "Regular", Path("/nonexistent/none.ttc"), 0),)
    monkeypatch.setitem(fonts_module._CANDIDATES, "serif", missing)
    fonts_module.find_font.cache_clear()
    try:
        with pytest.raises(FontNotFoundError, match="apt-get install fonts-noto-cjk"):
            find_font("serif")
    finally:
        fonts_module.find_font.cache_clear()


def test_the_card_never_calls_a_domain_without_data_clear() -> None:
    all_clear = view_from_snapshot(snapshot(domains=[domain(1), domain(2)])).main
    partly_no_data = view_from_snapshot(snapshot(domains=[domain(1), domain(2, data_as_of=None)]))

    assert clear_headline(all_clear) == "报告期内各查询领域均未查见违法违规信息"
    assert clear_headline(partly_no_data.main) == "报告期内有数据的查询领域均未查见违法违规信息"
