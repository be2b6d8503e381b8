"""Binds render/ to the platform: which engine, and which certificate seals the PDF."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from render.dev_pki import DevPki, make_dev_pki
from render.report import SealMaterial, render_report
from render.seal import Attachment
from services.reports import Renderer

ENGINES = ("weasyprint", "wkhtmltopdf")
CRL_PATH = "/verify/pki/root.crl"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def platform_pki(pki_dir: Path, public_base_url: str = DEFAULT_BASE_URL) -> DevPki:
    """The sealing certificate under pki_dir; a development CA and certificate on first use."""
    return make_dev_pki(pki_dir, crl_url=public_base_url + CRL_PATH)


def make_renderer(
    pki_dir: Path, public_base_url: str = DEFAULT_BASE_URL, tsa_url: str = ""
) -> Renderer:
    """(snapshot, engine, evidence) -> (sealed PDF, PNG card), for a thread or a worker process."""
    seal = SealMaterial.from_dev_pki(platform_pki(pki_dir, public_base_url), tsa_url)

    def render(
        snapshot: dict, engine: str, evidence: Sequence[Attachment] = ()
    ) -> tuple[bytes, bytes]:
        if engine not in ENGINES:
            raise ValueError(f"PDF_ENGINE must be one of {ENGINES}, got {engine!r}")
        return render_report(snapshot, engine, evidence, seal=seal)  # type: ignore[arg-type]

    return functools.update_wrapper(render, render_report)
