"""bench/render.py runs tiny here, so it cannot rot: every row it prints has a time."""

from __future__ import annotations

import re
from pathlib import Path

from bench.pillow_card import pillow_card, wrap
from bench.render import bench_case, reports_per_minute
from render import SealMaterial, make_dev_pki, view_from_snapshot
from render.fonts import load_font
from tests.test_render_support import dev_pki, domain, record, snapshot

ROW = re.compile(r"^\| (?P<name>[^|]+?) +\| +(?P<p50>[\d.]+) \| +(?P<p99>[\d.]+) \|")


def tiny() -> dict:
    return snapshot(
        domains=[domain(1), domain(13, records=[record()]), domain(31, data_as_of=None)]
    )


def seal() -> SealMaterial:
    keys = dev_pki()
    return SealMaterial(keys.signer_key, keys.signer_cert)


def test_the_render_bench_times_typst_against_weasyprint_in_one_run() -> None:
    lines = bench_case("tiny", tiny(), 1, seal(), dev_pki().root(), wk=False)

    rows = {m["name"]: float(m["p50"]) for line in lines if (m := ROW.match(line))}
    names = {
        "baseline: bare WeasyPrint, the report's HTML",
        "pdf: report_pdf (Typst, the default)",
        "baseline: the card drawn with Pillow",
        "card: render_card (Typst, PNG, 1080 px)",
        "report: render_report (all of it)",
    }
    assert names <= rows.keys()
    assert all(p50 > 0 for p50 in rows.values())
    assert "x |" in next(line for line in lines if "Typst, the default" in line)


def test_reports_per_minute_compares_both_engines(tmp_path: Path) -> None:
    lines = reports_per_minute(tiny(), make_dev_pki(tmp_path), 1, rounds=2)

    assert any(line.startswith("- typst: 16 reports") for line in lines)
    assert any(line.startswith("- weasyprint: 2 reports") for line in lines)
    assert re.search(r"Typst / WeasyPrint: [\d.]+x", lines[-1])


def test_the_pillow_baseline_card_is_a_1080_px_png() -> None:
    from io import BytesIO

    from PIL import Image

    png = pillow_card(view_from_snapshot(tiny()))

    image = Image.open(BytesIO(png))
    assert image.format == "PNG" and image.width == 1080 and image.height > 800


def test_card_text_wraps_within_the_width_and_keeps_ascii_words_whole() -> None:
    font = load_font("sans", 28)
    lines = wrap("统一社会信用代码 91500000MA5U000000 " + "企业" * 40, font, 600)

    assert len(lines) > 1
    assert all(font.getlength(line) <= 600 for line in lines)
    assert any("91500000MA5U000000" in line for line in lines)
    assert all(font.getlength(line) <= 600 for line in wrap("A" * 200, font, 600))
