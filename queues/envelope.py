"""The fields of a stream entry: the job, its JSON payload and what survives a retry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


def text(value: bytes | str | int | float | None) -> str:
    """A Redis reply as str, whether or not the client decodes responses."""
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Envelope:
    """One job as it travels through the stream, the retry ZSET, a parking ZSET or dead letters."""

    job: str
    payload: str  # JSON text, decoded only by the handler call
    job_id: str  # the entry id of the first enqueue; stable across retries and requeues
    key: str | None = None  # ordering key (the bot uses the user's openid)
    seq: int | None = None  # position within the key's order
    attempts: int = 0  # deliveries that already ended without success, kept across retries
    last_error: str | None = None

    @classmethod
    def from_entry(cls, entry_id: str, fields: Mapping[Any, Any]) -> Envelope:
        f = {text(k): text(v) for k, v in fields.items()}
        return cls(
            job=f.get("job", ""),
            payload=f.get("payload", "{}"),
            # A first enqueue carries no id: the entry id is the job id.
            job_id=f.get("id") or entry_id,
            key=f.get("key") or None,
            seq=int(f["seq"]) if f.get("seq") else None,
            attempts=int(f.get("attempts") or 0),
            last_error=f.get("error") or None,
        )

    @property
    def ordered(self) -> bool:
        """Whether the job takes part in its key's order."""
        return self.key is not None and self.seq is not None

    def fields(self) -> list[str]:
        """Flat field/value list for XADD, or for a Lua script to XADD later."""
        out = ["job", self.job, "payload", self.payload, "id", self.job_id]
        if self.key is not None:
            out += ["key", self.key]
        if self.seq is not None:
            out += ["seq", str(self.seq)]
        if self.attempts:
            out += ["attempts", str(self.attempts)]
        if self.last_error:
            out += ["error", self.last_error]
        return out

    def member(self) -> str:
        """The envelope as one string, for a ZSET member (unique per job and attempt)."""
        return json.dumps(self.fields(), ensure_ascii=False, separators=(",", ":"))

    def failed(self, attempts: int, error: str) -> Envelope:
        return replace(self, attempts=attempts, last_error=error)

    def decoded_payload(self) -> dict[str, Any]:
        value = json.loads(self.payload)
        if not isinstance(value, dict):
            raise ValueError(f"payload is {type(value).__name__}, not an object")
        return value


def first_fields(job: str, payload: Mapping[str, Any], key: str | None) -> list[str]:
    """Fields of a fresh job (no id yet: the entry id becomes the job id)."""
    out = ["job", job, "payload", json.dumps(payload, ensure_ascii=False, separators=(",", ":"))]
    if key is not None:
        out += ["key", key]
    return out
