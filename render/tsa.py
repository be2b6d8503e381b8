"""A time-stamping authority (RFC 3161) for development and tests: ECDSA P-256, SHA-256.

`TimeStampAuthority.respond(request_der)` answers a TimeStampReq with a granted TimeStampResp;
the app serves it over HTTP at /verify/pki/tsa (`--with-dev-pki`), and `LocalTimeStamper` lets
pyHanko call it in-process when no TSA_URL is configured. Production names a real TSA (TSA_URL).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, pem, tsp, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper

# Any policy OID will do for a development TSA; this one is under the dev arc nobody else uses.
DEV_TSA_POLICY = "1.3.6.1.4.1.99999.1.1"


class TimeStampAuthority:
    def __init__(self, key_pem: bytes, cert_pem: bytes) -> None:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the TSA key must be an EC key")
        self._key = key
        self.cert = x509.Certificate.load(_der(cert_pem))
        # What every token repeats, encoded once: asn1crypto re-encodes a parsed object each time
        # it is placed in a new structure, which cost ~8 ms a token (two tokens per seal).
        self._cert_der = self.cert.dump()
        self._subject_der = self.cert.subject.dump()
        self._issuer_der = self.cert.issuer.dump()
        self._signing_cert_der = simple_cms_attribute(
            "signing_certificate_v2", as_signing_certificate_v2(self.cert)
        ).dump()

    def respond(self, request_der: bytes) -> bytes:
        """The DER TimeStampResp for a DER TimeStampReq; a malformed request is 'rejection'."""
        try:
            req = tsp.TimeStampReq.load(request_der)
            imprint = req["message_imprint"]
            token = self._token(imprint, req["nonce"].native)
        except Exception:
            status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": {"bad_request"}})
            body = status.dump()  # asn1crypto insists on a token: a SEQUENCE of the status alone
            return b"\x30" + bytes([len(body)]) + body
        granted = tsp.PKIStatusInfo({"status": "granted"})
        return tsp.TimeStampResp({"status": granted, "time_stamp_token": token}).dump()

    def _token(self, imprint: tsp.MessageImprint, nonce: int | None) -> cms.ContentInfo:
        # The imprint is echoed as the requester hashed it; the token is signed with SHA-256.
        now = datetime.now(UTC).replace(microsecond=0)
        info = {
            "version": "v1",
            "policy": DEV_TSA_POLICY,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(63),
            "gen_time": now,
            "tsa": x509.GeneralName(name="directory_name", value=x509.Name.load(self._subject_der)),
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst = tsp.TSTInfo(info).dump()
        digest = hashes.Hash(hashes.SHA256())
        digest.update(tst)
        attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
            cms.CMSAttribute.load(self._signing_cert_der),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])  # fmt: skip
        signature = self._key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": x509.Name.load(self._issuer_der),
                "serial_number": self.cert.serial_number})}),
            "digest_algorithm": sha256,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signed_attrs": attrs,
            "signature": signature,
        })  # fmt: skip
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [sha256],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": cms.ParsableOctetString(tst)},
            "certificates": [x509.Certificate.load(self._cert_der)],
            "signer_infos": [signer_info],
        })  # fmt: skip
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})


class LocalTimeStamper(TimeStamper):
    """pyHanko's TimeStamper interface over an in-process TimeStampAuthority."""

    def __init__(self, authority: TimeStampAuthority) -> None:
        super().__init__()
        self._authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._authority.respond(req.dump()))


def _der(pem_or_der: bytes) -> bytes:
    if pem_or_der.lstrip().startswith(b"-----"):
        return pem.unarmor(pem_or_der)[2]
    return pem_or_der
