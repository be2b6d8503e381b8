"""Binds render/ to the platform: which engine, and which certificate seals the PDF."""

from __future__ import annotations

from pathlib import Path

from render.card import render_card
from render.pdf import ENGINES, report_pdf
from render.report import SealMaterial
from render.seal import DevPki, make_dev_pki, seal_pdf
from render.view import view_from_snapshot
from services.reports import Renderer


def platform_pki(pki_dir: Path) -> DevPki:
    """The sealing certificate under pki_dir; a development CA and certificate on first use."""
    return make_dev_pki(pki_dir)


def make_renderer(pki_dir: Path) -> Renderer:
    """The card (snapshot -> PNG) and the sealed PDF ((snapshot, engine) -> PDF), for a thread."""
    seal = SealMaterial.from_dev_pki(platform_pki(pki_dir))

    def card(snapshot: dict) -> bytes:
        return render_card(view_from_snapshot(snapshot))

    def pdf(snapshot: dict, engine: str) -> bytes:
        if engine not in ENGINES:
            raise ValueError(f"PDF_ENGINE must be one of {ENGINES}, got {engine!r}")
        unsealed = report_pdf(view_from_snapshot(snapshot), engine)  # type: ignore[arg-type]
        return seal_pdf(unsealed, seal.key_pem, seal.cert_pem, seal.chain, seal.key_passphrase)

    return Renderer(card=card, pdf=pdf)
