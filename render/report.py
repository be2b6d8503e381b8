"""One call from snapshot to files: the sealed PDF and the PNG card, for the render worker.

`render_report(snapshot, engine, evidence, seal=...)` has the shape the Renderer of
services.reports.issuing expects once the seal is bound:
`partial(render_report, seal=SealMaterial.from_dev_pki(pki))`. `evidence` are the files embedded
in the PDF before sealing (the signed snapshot, its signature). Synchronous and CPU-bound: the
worker runs it in a thread (asyncio.to_thread) or a process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from render.card import render_card
from render.dev_pki import DevPki
from render.pdf import DEFAULT_ENGINE, Engine, report_pdf
from render.seal import Attachment, LongTermTrust, seal_pdf
from render.tsa import LocalTimeStamper, TimeStampAuthority
from render.view import view_from_snapshot


@dataclass(frozen=True)
class SealMaterial:
    """The platform's signing key and certificate (PEM), and any intermediate certificates."""

    key_pem: bytes
    cert_pem: bytes
    chain: tuple[bytes, ...] = ()
    key_passphrase: bytes | None = None
    trust: LongTermTrust | None = None  # timestamps and validation data (B-LTA); None: B-B

    @classmethod
    def from_dev_pki(cls, pki: DevPki, tsa_url: str = "") -> SealMaterial:
        """The development seal, B-LTA: the TSA at tsa_url, or the dev TSA in-process."""
        from pyhanko.sign.timestamps import HTTPTimeStamper

        key, cert, chain = pki.signer()
        timestamper = (
            HTTPTimeStamper(tsa_url)
            if tsa_url
            else LocalTimeStamper(TimeStampAuthority(*pki.tsa()))
        )
        trust = LongTermTrust(pki.root(), timestamper, crls=lambda: [pki.crl()])
        return cls(key, cert, tuple(chain), trust=trust)

    def __repr__(self) -> str:  # never print key material in logs or tracebacks
        return f"SealMaterial(cert={len(self.cert_pem)} bytes, key=<hidden>)"


def render_report(
    snapshot: Mapping[str, Any],
    engine: Engine = DEFAULT_ENGINE,
    evidence: Sequence[Attachment] = (),
    seal: SealMaterial | None = None,
) -> tuple[bytes, bytes]:
    """(PDF, PNG card) for a snapshot; the PDF is sealed, evidence embedded, given seal material."""
    view = view_from_snapshot(snapshot)
    pdf = report_pdf(view, engine)
    if seal is not None:
        pdf = seal_pdf(pdf, seal.key_pem, seal.cert_pem, seal.chain, seal.key_passphrase,
                       attachments=evidence, trust=seal.trust, issuer=view.issuer)  # fmt: skip
    return pdf, render_card(view)
