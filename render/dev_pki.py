"""The development PKI: a root CA, the platform seal certificate, a TSA certificate and a CRL.

`make_dev_pki(directory, crl_url=...)` creates them once (`make run` calls it on every start and
keeps what earlier reports were sealed with). The seal and TSA certificates name `crl_url` as
their CRL distribution point; the app publishes the CRL there and the root at /verify/root.pem
(`--with-dev-pki`), and the TSA at /verify/pki/tsa. `revoke` adds a certificate to the CRL.
Production uses a real CA and TSA; only the certificate and key files come from this layout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_CRL_URL = "http://127.0.0.1:8080/verify/pki/root.crl"
SEAL_LIFETIME = timedelta(days=825)
CRL_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class DevPki:
    """Paths of the development CA, the platform seal certificate and the TSA (all PEM)."""

    root_cert: Path
    root_key: Path
    signer_cert: Path
    signer_key: Path
    tsa_cert: Path
    tsa_key: Path
    revoked: Path  # JSON {serial (decimal): revocation time (ISO)}

    def signer(self) -> tuple[bytes, bytes, list[bytes]]:
        """(key, cert, chain) as seal_pdf takes them."""
        return self.signer_key.read_bytes(), self.signer_cert.read_bytes(), []

    def root(self) -> bytes:
        return self.root_cert.read_bytes()

    def tsa(self) -> tuple[bytes, bytes]:
        """(key, cert) of the time-stamping authority."""
        return self.tsa_key.read_bytes(), self.tsa_cert.read_bytes()

    def crl(self, at: datetime | None = None) -> bytes:
        """A fresh DER CRL signed by the root, listing every revoked certificate; `at` dates it
        (tests ask for the CRL a validator would fetch years from now)."""
        root_key = serialization.load_pem_private_key(self.root_key.read_bytes(), password=None)
        root = x509.load_pem_x509_certificate(self.root())
        now = at or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(root.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), False
            )
        )
        for serial, when in self._revoked().items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial))
                .revocation_date(datetime.fromisoformat(when))
                .build()
            )
        crl = builder.sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
        return crl.public_bytes(serialization.Encoding.DER)

    def revoke(self, cert_pem: bytes, when: datetime) -> None:
        serial = x509.load_pem_x509_certificate(cert_pem).serial_number
        revoked = self._revoked() | {str(serial): when.astimezone(UTC).isoformat()}
        _write(self.revoked, json.dumps(revoked).encode(), private=False)

    def _revoked(self) -> dict[str, str]:
        return json.loads(self.revoked.read_text()) if self.revoked.is_file() else {}


def make_dev_pki(
    directory: Path | str,
    *,
    force: bool = False,
    crl_url: str = DEFAULT_CRL_URL,
    seal_lifetime: timedelta = SEAL_LIFETIME,
) -> DevPki:
    """Create (once; again only with force) a development root CA, seal and TSA certificates."""
    base = Path(directory)
    pki = DevPki(
        root_cert=base / "dev-root-ca.pem",
        root_key=base / "dev-root-ca.key.pem",
        signer_cert=base / "platform-seal.pem",
        signer_key=base / "platform-seal.key.pem",
        tsa_cert=base / "dev-tsa.pem",
        tsa_key=base / "dev-tsa.key.pem",
        revoked=base / "revoked.json",
    )
    base.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC) - timedelta(minutes=5)  # tolerate small clock skew between machines
    if force or not all(p.is_file() for p in (pki.root_cert, pki.root_key)):
        root_key = ec.generate_private_key(ec.SECP256R1())
        name = _name("YuCredit Dev Root CA 开发环境根证书")
        root = (
            _builder(name, name, root_key.public_key(), now, timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        _write(pki.root_cert, root.public_bytes(serialization.Encoding.PEM), private=False)
        _write(pki.root_key, _key_pem(root_key), private=True)
        force = True  # a new root: every certificate under it is new too
    root_key = serialization.load_pem_private_key(pki.root_key.read_bytes(), password=None)
    root = x509.load_pem_x509_certificate(pki.root())
    # An older directory may lack the TSA: add what is missing, keep what earlier reports used.
    wanted = (
        (pki.signer_cert, pki.signer_key, "重庆市公共信用信息平台电子签章（开发）", seal_lifetime,
         None),
        (pki.tsa_cert, pki.tsa_key, "YuCredit Dev TSA 开发环境时间戳服务", timedelta(days=3650),
         ExtendedKeyUsageOID.TIME_STAMPING),
    )  # fmt: skip
    for cert_path, key_path, common_name, lifetime, usage in wanted:
        if not force and cert_path.is_file() and key_path.is_file():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _builder(_name(common_name), root.subject, key.public_key(), now, lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), False
            )
            .add_extension(_crl_distribution_point(crl_url), critical=False)
        )
        if usage is not None:  # RFC 3161: a TSA certificate has exactly this critical EKU
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=True)
        cert = builder.sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
        _write(key_path, _key_pem(key), private=True)
    return pki


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    start: datetime,
    lifetime: timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
    )


def _crl_distribution_point(url: str) -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    return x509.CRLDistributionPoints([point])


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
