"""Binds render/ to the platform: which engine, and which certificate seals the PDF."""

from __future__ import annotations

import functools
from pathlib import Path

from render.pdf import ENGINES
from render.report import SealMaterial, render_report
from render.seal import DevPki, make_dev_pki
from services.reports import Renderer


def platform_pki(pki_dir: Path) -> DevPki:
    """The sealing certificate under pki_dir; a development CA and certificate on first use."""
    return make_dev_pki(pki_dir)


def make_renderer(pki_dir: Path) -> Renderer:
    """(snapshot, engine) -> (sealed PDF, PNG card), to run in a thread or a worker process."""
    seal = SealMaterial.from_dev_pki(platform_pki(pki_dir))

    def render(snapshot: dict, engine: str) -> tuple[bytes, bytes]:
        if engine not in ENGINES:
            raise ValueError(f"PDF_ENGINE must be one of {ENGINES}, got {engine!r}")
        return render_report(snapshot, engine, seal=seal)  # type: ignore[arg-type]

    return functools.update_wrapper(render, render_report)
