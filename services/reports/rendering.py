"""Binds render/ to the platform: which engine, and which certificate seals the PDF."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from render.card import render_card
from render.dev_pki import DevPki, make_dev_pki
from render.pdf import ENGINES, report_pdf
from render.report import SealMaterial
from render.seal import Attachment, seal_pdf
from render.view import view_from_snapshot
from services.reports.issuing import Renderer

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
        view = view_from_snapshot(snapshot)
        unsealed = report_pdf(view, engine)  # type: ignore[arg-type]
        return seal_pdf(unsealed, seal.key_pem, seal.cert_pem, seal.chain, seal.key_passphrase,
                        attachments=evidence, trust=seal.trust, issuer=view.issuer)  # fmt: skip

    return Renderer(card=card, pdf=pdf)
