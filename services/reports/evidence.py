"""The evidence a report carries: its canonical snapshot, the signature, and the key id.

The same three are embedded in the PDF (as associated files, before sealing) and served by
/verify/{no}.json, so that anyone can check a report with tools/verify_offline.py and the keys at
/verify/keys.json, without our database or server.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from render.seal import Attachment
from services.reports.snapshot import canonical_json

SNAPSHOT_FILE = "snapshot.json"
SIGNATURE_FILE = "signature.json"


def signature_envelope(canonical: bytes, signature_hex: str, key_id: str) -> dict[str, Any]:
    """What signature.json holds: which key signed which bytes, and the signature."""
    return {
        "algorithm": "Ed25519",
        "key_id": key_id,
        "signature": signature_hex,
        "signed_file": SNAPSHOT_FILE,
        "signed_sha256": hashlib.sha256(canonical).hexdigest(),
        "keys": "/verify/keys.json",
    }


def evidence_files(canonical: bytes, signature_hex: str, key_id: str) -> list[Attachment]:
    envelope = canonical_json(signature_envelope(canonical, signature_hex, key_id))
    return [
        Attachment(SNAPSHOT_FILE, canonical, "application/json",
                   "报告快照（签名的原文，规范化 JSON）"),
        Attachment(SIGNATURE_FILE, envelope, "application/json",
                   "报告快照的 Ed25519 签名及密钥编号"),
    ]  # fmt: skip


def evidence_document(canonical: bytes, signature_hex: str, key_id: str | None) -> dict[str, Any]:
    """The body of /verify/{no}.json: the snapshot (and its exact signed bytes), signature, key."""
    envelope = signature_envelope(canonical, signature_hex, key_id or "")
    if key_id is None:  # an older report: the signature is over the 32-byte digest
        envelope["key_id"] = None
        envelope["signed_bytes"] = "sha256(snapshot_b64 decoded)"
    return {
        "snapshot_b64": base64.b64encode(canonical).decode(),
        "signature": envelope,
    }
