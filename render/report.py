"""One call from snapshot to files: the sealed PDF and the PNG card, for the render worker.

`render_report(snapshot, engine, seal=...)` has the shape services.reports' Renderer expects once
the seal is bound: `functools.partial(render_report, seal=SealMaterial.from_dev_pki(pki))`.
Synchronous and CPU-bound: the worker runs it in a thread (asyncio.to_thread) or a process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from render.card import render_card
from render.pdf import DEFAULT_ENGINE, Engine, report_pdf
from render.seal import DevPki, seal_pdf
from render.view import view_from_snapshot


@dataclass(frozen=True)
class SealMaterial:
    """The platform's signing key and certificate (PEM), and any intermediate certificates."""

    key_pem: bytes
    cert_pem: bytes
    chain: tuple[bytes, ...] = ()
    key_passphrase: bytes | None = None

    @classmethod
    def from_dev_pki(cls, pki: DevPki) -> SealMaterial:
        key, cert, chain = pki.signer()
        return cls(key, cert, tuple(chain))

    def __repr__(self) -> str:  # never print key material in logs or tracebacks
        return f"SealMaterial(cert={len(self.cert_pem)} bytes, key=<hidden>)"


def render_report(
    snapshot: Mapping[str, Any], engine: Engine = DEFAULT_ENGINE, seal: SealMaterial | None = None
) -> tuple[bytes, bytes]:
    """(PDF, PNG card) for a snapshot; the PDF is sealed when seal material is given."""
    view = view_from_snapshot(snapshot)
    pdf = report_pdf(view, engine)
    if seal is not None:
        pdf = seal_pdf(pdf, seal.key_pem, seal.cert_pem, seal.chain, seal.key_passphrase)
    return pdf, render_card(view)
