"""bench/render.py runs tiny here, so it cannot rot: every row it prints has a time."""

from __future__ import annotations

import re

from bench.render import bench_case, reports_per_minute
from bench.typst_card import typst_card
from render import SealMaterial, view_from_snapshot
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
        "baseline: bare WeasyPrint on the report's HTML",
        "pdf: report_pdf (Typst, the default)",
        "card: render_card (Pillow, PNG, 1080 px)",
        "card: Typst PNG at 216 ppi (bench only)",
        "report: render_report (all of it)",
    }
    assert names <= rows.keys()
    assert all(p50 > 0 for p50 in rows.values())
    assert "x |" in next(line for line in lines if "Typst, the default" in line)


def test_reports_per_minute_compares_both_engines() -> None:
    lines = reports_per_minute(tiny(), seal(), 2)

    assert any(line.startswith("- typst: 2 reports") for line in lines)
    assert any(line.startswith("- weasyprint: 2 reports") for line in lines)
    assert re.search(r"Typst / WeasyPrint: [\d.]+x", lines[-1])


def test_the_typst_card_is_a_1080_px_png() -> None:
    from io import BytesIO

    from PIL import Image

    png = typst_card(view_from_snapshot(tiny()))

    image = Image.open(BytesIO(png))
    assert image.format == "PNG" and image.width == 1080 and image.height > 800
