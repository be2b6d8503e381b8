"""Ed25519 signatures over report snapshots, and HMAC-signed expiring download links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SnapshotSigner:
    """Signs the SHA-256 of a canonical snapshot; the public key is published at /verify/pubkey."""

    def __init__(self, seed_b64: str) -> None:
        if not seed_b64:
            raise RuntimeError("REPORT_SIGNING_KEY is not set: reports cannot be signed")
        seed = base64.b64decode(seed_b64)
        if len(seed) != 32:
            raise RuntimeError("REPORT_SIGNING_KEY must be 32 bytes, base64-encoded")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: Ed25519PublicKey = self._key.public_key()

    def sign(self, digest_hex: str) -> str:
        return self._key.sign(bytes.fromhex(digest_hex)).hex()

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def verify(self, digest_hex: str, signature_hex: str) -> bool:
        try:
            self.public_key.verify(bytes.fromhex(signature_hex), bytes.fromhex(digest_hex))
        except (InvalidSignature, ValueError):
            return False
        return True


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
