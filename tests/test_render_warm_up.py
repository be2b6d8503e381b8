"""A render process warms up before its first report, which then costs what later ones do."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from config.settings import Settings
from render import typst_engine
from render.report import WARM_UP_SNAPSHOT, render_report
from render.seal_appearance import encoded_appearance
from render.view import DEFAULT_ISSUER, view_from_snapshot
from services.reports.issuing import start_in_render_thread
from services.reports.rendering import warm_render_thread


def test_the_warm_up_report_is_a_valid_snapshot_of_all_domains_that_renders() -> None:
    view = view_from_snapshot(WARM_UP_SNAPSHOT)
    assert len(view.main.domains) == 40 and view.issuer == DEFAULT_ISSUER

    pdf, png = render_report(WARM_UP_SNAPSHOT)

    assert pdf.startswith(b"%PDF") and png.startswith(b"\x89PNG")


def test_warming_the_render_thread_leaves_its_compilers_and_the_seal_picture_ready(
    settings: Settings,
) -> None:
    encoded_appearance.cache_clear()

    warm_render_thread(settings).result(timeout=60)

    compilers = start_in_render_thread(lambda: set(typst_engine._local.compilers)).result()
    assert {"report.typ", "card.typ"} <= compilers
    assert encoded_appearance.cache_info().currsize == 1  # the seal picture, drawn and encoded


def test_a_failed_warm_up_is_logged_and_leaves_the_render_thread_working(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    broken = replace(settings, pdf_engine="no-such-engine")

    with caplog.at_level(logging.WARNING, logger="services.reports.rendering"):
        assert warm_render_thread(broken).result(timeout=60) is None

    assert "render warm-up failed" in caplog.text
    assert start_in_render_thread(lambda: 1 + 1).result() == 2
