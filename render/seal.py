"""The electronic seal (电子签章): PAdES baseline B-LTA over the whole PDF, with pyHanko.

`seal_pdf` embeds the evidence files (the signed snapshot and its signature, as associated files),
draws the visible seal on the issuer line, signs, and, given a `LongTermTrust`, adds an RFC 3161
signature timestamp (B-T), the chain and CRLs in the DSS (B-LT) and a document timestamp (B-LTA),
all in one incremental update, so that the seal covers every byte of the file. Without it the
seal is PAdES B-B (kept for tests of the engine alone).

pyHanko is synchronous here and runs its own `asyncio.run` inside: call `seal_pdf` and
`verify_sealed_pdf` from a worker thread or process, never from a running event loop (an async
caller can use `async_verify_sealed_pdf`, or `asyncio.to_thread`).

In development and tests the certificates come from `render.dev_pki.make_dev_pki(directory)`.
Production uses the platform's real certificate and key, passed in as PEM bytes the same way.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from render.seal_appearance import Anchor

SEAL_FIELD = "YuCreditSeal"
SEAL_REASON = "专项信用报告（上市版）电子签章"
SEAL_LOCATION = "重庆"


@dataclass(frozen=True)
class SealCheck:
    """The outcome of checking a sealed PDF; truthy only when it is valid."""

    valid: bool  # intact, trusted, and nothing but validation data added after signing
    intact: bool = False  # the signed bytes are unchanged
    trusted: bool = False  # the signer chains to the given root
    whole_file: bool = False  # nothing but the DSS and timestamps was appended after signing
    timestamped: bool = False  # an RFC 3161 signature timestamp from a trusted TSA (B-T)
    dss: bool = False  # validation data (chain, CRLs) in the document security store (B-LT)
    archived: bool = False  # a document timestamp covers the DSS (B-LTA)
    signer: str = ""
    signed_at: datetime | None = None  # the timestamp's time, else the signer's own claim
    reason: str = ""

    def __bool__(self) -> bool:
        return self.valid


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF as an associated file (PDF/A-3 style) before sealing."""

    name: str
    data: bytes
    mime_type: str
    description: str


@dataclass(frozen=True)
class LongTermTrust:
    """What B-LTA needs beyond the signer: the root, fresh CRLs, and a time-stamping authority.

    `crls` is called at each seal (a CRL goes stale); empty means pyHanko fetches CRLs and OCSP
    responses from the certificates' own distribution points. `timestamper` is a pyHanko
    TimeStamper: an HTTP one for TSA_URL, or the development TSA in-process.
    """

    root_pem: bytes
    timestamper: object
    crls: Callable[[], Sequence[bytes]] = tuple


def seal_pdf(
    pdf: bytes,
    signer_key_pem: bytes,
    signer_cert_pem: bytes,
    chain: Sequence[bytes] = (),
    key_passphrase: bytes | None = None,
    *,
    attachments: Sequence[Attachment] = (),
    trust: LongTermTrust | None = None,
    issuer: str | None = None,
    issuer_at: Anchor | None = None,
) -> bytes:
    """Seal the PDF (SHA-256); returns the sealed PDF. See the module docstring for the levels.

    With `issuer`, the seal is visible: a round seal over that name, where `issuer_at` says it
    is printed, else where the last page's text shows it.
    """
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert = one_cert(signer_cert_pem)
    extra = [c for pem in chain for c in load_certs_from_pemder_data(pem)]
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=load_private_key_from_pemder_data(signer_key_pem, passphrase=key_passphrase),
        # The chain goes into the CMS, so a verifier needs only the root.
        cert_registry=SimpleCertificateStore.from_certs([cert, *extra]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=SEAL_REASON,
        location=SEAL_LOCATION,
        **_long_term(trust, extra),
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=trust.timestamper if trust else None,  # type: ignore[arg-type]
        **_appearance(pdf, issuer, issuer_at),
    )

    def sign(reserved: int | None) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        for attachment in attachments:
            _embed(writer, attachment)
        return bytes(pdf_signer.sign_pdf(writer, bytes_reserved=reserved).getbuffer())

    # Room for the signature: pyHanko's estimate (a dry run of the whole signature, with a 50%
    # margin) is learnt from the first seal of a signer and reused, since it costs a fifth of a
    # B-LTA seal. Should a signature ever outgrow it (another TSA, a longer chain), the seal is
    # made again with a fresh estimate.
    key = (signer_cert_pem, trust is not None)
    reserved = _RESERVED.get(key)
    if reserved is not None:
        try:
            return sign(reserved)
        except SigningError as e:
            if "larger than expected" not in str(e):
                raise
    sealed = sign(None)
    if (learnt := _reserved_in(sealed, len(pdf))) is not None:
        _RESERVED[key] = learnt
    return sealed


_RESERVED: dict[tuple[bytes, bool], int] = {}
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)")


def _reserved_in(sealed: bytes, unsealed_length: int) -> int | None:
    """The hex digits pyHanko reserved for the seal's signature: the first signature after the
    unsealed file (the document timestamp follows it); None if it cannot be read."""
    match = _BYTE_RANGE.search(sealed, unsealed_length)
    if match is None:
        return None
    reserved = int(match[2]) - int(match[1]) - 2  # the range skips the angle brackets
    return reserved if reserved > 0 and reserved % 2 == 0 else None


def _long_term(trust: LongTermTrust | None, extra: Sequence[object]) -> dict[str, object]:
    if trust is None:
        return {}
    from asn1crypto import crl as asn1_crl
    from pyhanko_certvalidator import ValidationContext

    crls = [asn1_crl.CertificateList.load(der) for der in trust.crls()]
    context = ValidationContext(
        trust_roots=[one_cert(trust.root_pem)],
        other_certs=list(extra),
        crls=crls,
        allow_fetching=not crls,
        revocation_mode="hard-fail",  # no seal without proof the certificate was good
    )
    return {"embed_validation_info": True, "use_pades_lta": True,
            "validation_context": context}  # fmt: skip


def _appearance(pdf: bytes, issuer: str | None, anchor: Anchor | None) -> dict[str, object]:
    if not issuer:
        return {}
    from pyhanko.sign import fields

    from render.seal_appearance import encoded_appearance, place_seal, placement
    from render.seal_stamp import stamp_style

    spot = placement(anchor, issuer) if anchor else place_seal(pdf, issuer)
    spec = fields.SigFieldSpec(SEAL_FIELD, on_page=spot.page, box=spot.box)
    return {"stamp_style": stamp_style(encoded_appearance(issuer)), "new_field_spec": spec}


def _embed(writer: object, attachment: Attachment) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file

    data = EmbeddedFileObject.from_file_data(
        writer,  # type: ignore[arg-type]
        attachment.data,
        mime_type=attachment.mime_type,
    )
    spec = FileSpec(
        file_spec_string=attachment.name,
        file_name=attachment.name,
        embedded_data=data,
        description=attachment.description,
        af_relationship=generic.NameObject("/Data"),
    )
    embed_file(writer, spec)  # type: ignore[arg-type]


def verify_sealed_pdf(pdf: bytes, trust_root_pem: bytes, crls: Sequence[bytes] = ()) -> SealCheck:
    """Check the seal against a trusted root. Never raises on a bad PDF: it says why instead."""
    return asyncio.run(async_verify_sealed_pdf(pdf, trust_root_pem, crls))


async def async_verify_sealed_pdf(
    pdf: bytes, trust_root_pem: bytes, crls: Sequence[bytes] = ()
) -> SealCheck:
    """As verify_sealed_pdf, for callers already on an event loop (it is CPU-bound: ~tens of ms).

    Revocation is checked against the CRLs in the file (its DSS) and any `crls` given; nothing is
    fetched, so the answer is the same offline.
    """
    from asn1crypto import crl as asn1_crl
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import (
        SignatureCoverageLevel,
        async_validate_pdf_signature,
        async_validate_pdf_timestamp,
    )
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        seals = [s for s in signatures if s.field_name == SEAL_FIELD]
        if not seals:
            return SealCheck(valid=False, reason="未找到电子签章")
        root = one_cert(trust_root_pem)
        given = [asn1_crl.CertificateList.load(der) for der in crls]
        dss = reader.root.get("/DSS")
        dss = dss.get_object() if dss is not None else None
        in_file = [asn1_crl.CertificateList.load(c.get_object().data)
                   for c in (dss.get("/CRLs", []) if dss else [])]  # fmt: skip
        context = ValidationContext(trust_roots=[root], crls=given + in_file,
                                    allow_fetching=False)  # fmt: skip
        status = await async_validate_pdf_signature(seals[-1], context, context)
        last = signatures[-1]
        archive = None
        if last.sig_object_type == "/DocTimeStamp":
            archive = await async_validate_pdf_timestamp(last, context)
    except Exception as e:  # a damaged file is an answer ("invalid"), not a crash
        return SealCheck(valid=False, reason=f"无法校验：{type(e).__name__}: {e}")
    level = status.modification_level
    only_ltv = level is None or level <= ModificationLevel.LTA_UPDATES
    # After the seal only validation data and document timestamps may follow (pyHanko's diff
    # analysis), each revision closed properly: stray bytes after the last %%EOF are a change too.
    tail_clean = pdf.rstrip().endswith(b"%%EOF")
    whole = tail_clean and (
        status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        or (status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and only_ltv)
    )
    archived = bool(archive and archive.intact and archive.trusted and archive.valid)
    ts = status.timestamp_validity
    valid = bool(status.intact and status.valid and status.trusted and whole)
    valid = valid and (ts is None or bool(ts.valid and ts.intact and ts.trusted))
    reason = "签章有效" if valid else _why(status.intact, status.trusted, whole)
    return SealCheck(
        valid=valid,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        whole_file=whole,
        timestamped=bool(ts and ts.valid and ts.trusted),
        dss=dss is not None,
        archived=archived,
        signer=str(status.signing_cert.subject.native.get("common_name", "")),
        signed_at=ts.timestamp if ts else status.signer_reported_dt,
        reason=reason,
    )


def _why(intact: bool, trusted: bool, whole: bool) -> str:
    if not intact:
        return "文件内容在签章后被修改"
    if not trusted:
        return "签章证书不受信任"
    if not whole:
        return "签章后文件被追加修改"
    return "签章无效"


def one_cert(pem: bytes) -> object:
    from pyhanko.keys import load_certs_from_pemder_data

    certs = list(load_certs_from_pemder_data(pem))
    if len(certs) != 1:
        raise ValueError(f"expected exactly one certificate, found {len(certs)}")
    return certs[0]
