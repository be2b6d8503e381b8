"""Ed25519 signatures over report snapshots, and HMAC-signed expiring download links.

What is signed (SIGNED_SCHEME): the canonical JSON bytes of the snapshot themselves
(services.reports.snapshot.canonical_json: sorted keys, no spaces, UTF-8), with the key named by its
key id. Reports issued before the scheme carried a key id (LEGACY_SCHEME) were signed over the raw
32 bytes of the SHA-256 of those same bytes; they stay verifiable with the same published keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNED_SCHEME = "Ed25519 over the canonical JSON bytes of the snapshot"
LEGACY_SCHEME = "Ed25519 over the raw 32-byte SHA-256 of the canonical JSON bytes"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify_signature(public_key: Ed25519PublicKey, message: bytes, signature_hex: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_snapshot(
    public_key: Ed25519PublicKey, canonical: bytes, signature_hex: str, legacy: bool
) -> bool:
    """The signature over a snapshot's canonical bytes, in either scheme."""
    message = hashlib.sha256(canonical).digest() if legacy else canonical
    return verify_signature(public_key, message, signature_hex)


class SnapshotSigner:
    """Signs canonical snapshot bytes; its public key is published at /verify/keys.json."""

    def __init__(self, seed_b64: str) -> None:
        if not seed_b64:
            raise RuntimeError("REPORT_SIGNING_KEY is not set: reports cannot be signed")
        seed = base64.b64decode(seed_b64)
        if len(seed) != 32:
            raise RuntimeError("REPORT_SIGNING_KEY must be 32 bytes, base64-encoded")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: Ed25519PublicKey = self._key.public_key()
        self.key_id = key_id_of(self.public_key)

    def sign(self, canonical: bytes) -> str:
        """The hex Ed25519 signature over exactly these bytes."""
        return self._key.sign(canonical).hex()

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def sign_link(key: str, path: str, expires_at: int) -> str:
    """The signature of a download path valid until `expires_at` (epoch seconds)."""
    mac = hmac.new(key.encode(), f"{path}\n{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def link_is_valid(key: str, path: str, expires: str, signature: str, now: float | None) -> bool:
    """Constant-time check of a link's signature, and that it has not expired."""
    try:
        expires_at = int(expires)
    except ValueError:
        return False
    expected = sign_link(key, path, expires_at)
    fresh = expires_at >= (time.time() if now is None else now)
    return same_secret(expected, signature) and fresh


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of a secret with what a caller sent, as UTF-8 bytes: comparing
    str raises TypeError on non-ASCII text, and a lone surrogate cannot be encoded strictly."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
