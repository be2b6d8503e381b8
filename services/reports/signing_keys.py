"""The published key ring: every snapshot signing key ever used, with when it was in use.

The key in REPORT_SIGNING_KEY is recorded on first use; when another key takes its place, the old
one gets its valid_to and stays published, so every report ever issued can still be checked.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from models.report import Report
from models.signing_key import SigningKey
from services.reports.signing import LEGACY_SCHEME, SIGNED_SCHEME, SnapshotSigner, raw_public_key


async def record_key_in_use(signer: SnapshotSigner) -> None:
    """Publish the signer's key (once) and close the validity of any key it replaces."""
    if await SigningKey.filter(key_id=signer.key_id, valid_to=None).exists():
        return
    now = datetime.now(UTC)
    if not await SigningKey.exists():
        # The first key recorded signed every report before the ring existed.
        first = await Report.all().order_by("created_at").first()
        start = first.created_at if first else now
    else:
        start = now
    await SigningKey.filter(valid_to=None).exclude(key_id=signer.key_id).update(valid_to=now)
    encoded = base64.b64encode(raw_public_key(signer.public_key)).decode()
    await SigningKey.update_or_create(
        key_id=signer.key_id,
        defaults={"public_key": encoded, "valid_from": start, "valid_to": None},
    )


async def published_keys() -> dict[str, Any]:
    """The document served at /verify/keys.json."""
    keys = await SigningKey.all().order_by("valid_from")
    return {
        "algorithm": "Ed25519",
        "signed_bytes": SIGNED_SCHEME,
        "signed_bytes_before_key_ids": LEGACY_SCHEME,
        "keys": [
            {
                "key_id": k.key_id,
                "public_key": k.public_key,
                "public_key_encoding": "raw 32 bytes, base64",
                "valid_from": k.valid_from.isoformat(timespec="seconds"),
                "valid_to": k.valid_to.isoformat(timespec="seconds") if k.valid_to else None,
            }
            for k in keys
        ],
    }


async def public_keys(key_id: str | None) -> list[Ed25519PublicKey]:
    """That key; or, for a report signed before key ids, every published key."""
    query = SigningKey.filter(key_id=key_id) if key_id else SigningKey.all()
    return [Ed25519PublicKey.from_public_bytes(base64.b64decode(k.public_key)) for k in await query]
