"""Binds render/ to the platform: which engine, and which certificate seals the PDF."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from config.settings import Settings
from render.card import render_card
from render.dev_pki import DevPki, make_dev_pki
from render.pdf import ENGINES
from render.report import SealMaterial, sealed_pdf, warm_up
from render.seal import Attachment
from render.view import view_from_snapshot
from services.reports.issuing import Renderer, start_in_render_thread

log = logging.getLogger(__name__)

CRL_PATH = "/verify/pki/root.crl"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def platform_pki(pki_dir: Path, public_base_url: str = DEFAULT_BASE_URL) -> DevPki:
    """The sealing certificate under pki_dir; a development CA and certificate on first use."""
    return make_dev_pki(pki_dir, crl_url=public_base_url + CRL_PATH)


def make_renderer(
    pki_dir: Path, public_base_url: str = DEFAULT_BASE_URL, tsa_url: str = ""
) -> Renderer:
    """The card (snapshot -> PNG) and the sealed PDF ((snapshot, engine, evidence) -> PDF)."""
    seal = SealMaterial.from_dev_pki(platform_pki(pki_dir, public_base_url), tsa_url)

    def card(snapshot: dict) -> bytes:
        return render_card(view_from_snapshot(snapshot))

    def pdf(snapshot: dict, engine: str, evidence: Sequence[Attachment] = ()) -> bytes:
        if engine not in ENGINES:
            raise ValueError(f"PDF_ENGINE must be one of {ENGINES}, got {engine!r}")
        return sealed_pdf(view_from_snapshot(snapshot), engine, evidence, seal)  # type: ignore[arg-type]

    return Renderer(card=card, pdf=pdf)


def warm_render_thread(settings: Settings) -> Future[None]:
    """Start a made-up report in this process's render thread, so that its first real report
    costs what every later one does (see render.report.warm_up). A failure is logged: the real
    reports then pay the one-off costs, or fail with their own error."""
    seal = SealMaterial.from_dev_pki(
        platform_pki(settings.pki_dir, settings.public_base_url), settings.tsa_url
    )

    def warm() -> None:
        try:
            warm_up(settings.pdf_engine, seal)  # type: ignore[arg-type]
        except Exception:
            log.warning("render warm-up failed", exc_info=True)

    return start_in_render_thread(warm)
