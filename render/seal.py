"""The electronic seal (电子签章): a PAdES B-B signature over the whole PDF, with pyHanko.

pyHanko is synchronous here and runs its own `asyncio.run` inside: call `seal_pdf` and
`verify_sealed_pdf` from a worker thread or process, never from a running event loop (an async
caller can use `async_verify_sealed_pdf`, or `asyncio.to_thread`).

In development and tests the platform certificate comes from `make_dev_pki(directory)`, which
`make run` calls to create (once) a private CA and a signing certificate under var/. Production
uses the platform's real certificate and key, passed in as PEM bytes the same way.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SEAL_FIELD = "YuCreditSeal"
SEAL_REASON = "专项信用报告（上市版）电子签章"
SEAL_LOCATION = "重庆"


@dataclass(frozen=True)
class SealCheck:
    """The outcome of checking a sealed PDF; truthy only when it is valid."""

    valid: bool  # intact, trusted, and covering the whole file
    intact: bool = False  # the signed bytes are unchanged
    trusted: bool = False  # the signer chains to the given root
    whole_file: bool = False  # nothing was appended after signing
    signer: str = ""
    reason: str = ""

    def __bool__(self) -> bool:
        return self.valid


def seal_pdf(
    pdf: bytes,
    signer_key_pem: bytes,
    signer_cert_pem: bytes,
    chain: Sequence[bytes] = (),
    key_passphrase: bytes | None = None,
) -> bytes:
    """Sign the PDF (PAdES B-B, SHA-256) with the platform certificate; returns the sealed PDF."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert = _one_cert(signer_cert_pem)
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
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = signers.sign_pdf(writer, meta, signer=signer)
    return bytes(out.getbuffer())


def verify_sealed_pdf(pdf: bytes, trust_root_pem: bytes) -> SealCheck:
    """Check the seal against a trusted root. Never raises on a bad PDF: it says why instead."""
    return asyncio.run(async_verify_sealed_pdf(pdf, trust_root_pem))


async def async_verify_sealed_pdf(pdf: bytes, trust_root_pem: bytes) -> SealCheck:
    """As verify_sealed_pdf, for callers already on an event loop (it is CPU-bound: ~tens of ms)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        seals = [s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD]
        if not seals:
            return SealCheck(valid=False, reason="未找到电子签章")
        context = ValidationContext(trust_roots=[_one_cert(trust_root_pem)])
        status = await async_validate_pdf_signature(seals[-1], context)
    except Exception as e:  # a damaged file is an answer ("invalid"), not a crash
        return SealCheck(valid=False, reason=f"无法校验：{type(e).__name__}: {e}")
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    valid = bool(status.bottom_line and whole)
    reason = "签章有效" if valid else _why(status.intact, status.trusted, whole)
    return SealCheck(
        valid=valid,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        whole_file=whole,
        signer=str(status.signing_cert.subject.native.get("common_name", "")),
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


def _one_cert(pem: bytes) -> object:
    from pyhanko.keys import load_certs_from_pemder_data

    certs = list(load_certs_from_pemder_data(pem))
    if len(certs) != 1:
        raise ValueError(f"expected exactly one certificate, found {len(certs)}")
    return certs[0]


# Development PKI


@dataclass(frozen=True)
class DevPki:
    """Paths of the development CA and the platform signing certificate (all PEM)."""

    root_cert: Path
    root_key: Path
    signer_cert: Path
    signer_key: Path

    def signer(self) -> tuple[bytes, bytes, list[bytes]]:
        """(key, cert, chain) as seal_pdf takes them."""
        return self.signer_key.read_bytes(), self.signer_cert.read_bytes(), []

    def root(self) -> bytes:
        return self.root_cert.read_bytes()


def make_dev_pki(directory: Path | str, *, force: bool = False) -> DevPki:
    """Create (once; again only with force) a development root CA and platform signing cert."""
    base = Path(directory)
    pki = DevPki(
        root_cert=base / "dev-root-ca.pem",
        root_key=base / "dev-root-ca.key.pem",
        signer_cert=base / "platform-seal.pem",
        signer_key=base / "platform-seal.key.pem",
    )
    if not force and all(p.is_file() for p in (pki.root_cert, pki.signer_cert, pki.signer_key)):
        return pki  # make run calls this on every start: keep what earlier reports were sealed with
    base.mkdir(parents=True, exist_ok=True)

    now = datetime.now(UTC) - timedelta(minutes=5)  # tolerate small clock skew between machines
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("YuCredit Dev Root CA 开发环境根证书")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )

    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal = (
        x509.CertificateBuilder()
        .subject_name(_name("重庆市公共信用信息平台电子签章（开发）"))
        .issuer_name(root_name)
        .public_key(seal_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(seal_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )

    _write(pki.root_cert, root.public_bytes(serialization.Encoding.PEM), private=False)
    _write(pki.signer_cert, seal.public_bytes(serialization.Encoding.PEM), private=False)
    _write(pki.root_key, _key_pem(root_key), private=True)
    _write(pki.signer_key, _key_pem(seal_key), private=True)
    return pki


def _name(common_name: str) -> x509.Name:
    # X.520 caps a CN at 64 (UTF-8 counted): keep Chinese names short.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "重庆"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "YuCredit (development)"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "开发测试用，不得用于生产"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # non-repudiation: what a seal asserts
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, private: bool) -> None:
    # Keys are created 0600 from the start, never world-readable even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
