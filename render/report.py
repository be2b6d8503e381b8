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

from config.catalogue import DOMAINS
from render.card import render_card
from render.dev_pki import DevPki
from render.pdf import DEFAULT_ENGINE, Engine, typeset_report
from render.seal import Attachment, LongTermTrust, seal_pdf
from render.tsa import LocalTimeStamper, TimeStampAuthority
from render.view import ReportView, view_from_snapshot


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


def sealed_pdf(
    view: ReportView,
    engine: Engine = DEFAULT_ENGINE,
    evidence: Sequence[Attachment] = (),
    seal: SealMaterial | None = None,
) -> bytes:
    """The report's PDF, sealed over its issuer line with the evidence embedded, given seal
    material (else unsealed)."""
    typeset = typeset_report(view, engine)
    if seal is None:
        return typeset.pdf
    return seal_pdf(typeset.pdf, seal.key_pem, seal.cert_pem, seal.chain, seal.key_passphrase,
                    attachments=evidence, trust=seal.trust, issuer=view.issuer,
                    issuer_at=typeset.issuer_at)  # fmt: skip


# A valid snapshot of no one: the shape of render/view.py, all 40 domains, one record.
WARM_UP_SNAPSHOT: Mapping[str, Any] = {
    "report_no": "YX00000000000000",
    "verify_code": "WARMUP00",
    "verify_url": "http://127.0.0.1/verify/YX00000000000000?c=WARMUP00",
    "issued_at": "2025-01-01T09:00:00+08:00",
    "requester": {"enterprise_name": "预热示例企业", "uscc": "91500000MA5U000000",
                  "channel": "hall"},
    "purpose": "listing",
    "span": {"from": "2022-01-01", "to": "2024-12-31"},
    "sections": [{
        "enterprise_name": "预热示例企业",
        "uscc": "91500000MA5U000000",
        "relation": None,
        "domains": [{"number": d.number, "data_as_of": "2024-12-31", "records": [
            {"kind": "administrative_penalty", "decision_no": "渝示罚〔2024〕1号",
             "authority": "示例机关", "decision_date": "2024-03-01", "summary": "示例。",
             "status": "in_force"}] if d.number == 1 else []} for d in DOMAINS],
    }],
}  # fmt: skip


def warm_up(engine: Engine = DEFAULT_ENGINE, seal: SealMaterial | None = None) -> None:
    """Render one made-up report, card and sealed PDF, and throw it away: a fresh process pays
    its one-off costs here (pyHanko's imports, Typst's font index per template, the seal picture,
    the TSA's first answer; ~0.6 s of CPU) instead of in its first user's report. Run it in the
    thread that will render, since each thread keeps its own Typst compilers."""
    render_report(WARM_UP_SNAPSHOT, engine, seal=seal)


def render_report(
    snapshot: Mapping[str, Any],
    engine: Engine = DEFAULT_ENGINE,
    evidence: Sequence[Attachment] = (),
    seal: SealMaterial | None = None,
) -> tuple[bytes, bytes]:
    """(PDF, PNG card) for a snapshot; the PDF is sealed, evidence embedded, given seal material."""
    view = view_from_snapshot(snapshot)
    return sealed_pdf(view, engine, evidence, seal), render_card(view)
