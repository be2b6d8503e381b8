"""Issued files in the database (STORAGE=postgres): content-addressed blobs in chunks.

Writing a file stores its chunks under the SHA-256 of its bytes (once, however many names
share them) and points the name at them, in one transaction. Reading fetches one chunk per
query, so a download's memory is a chunk, whatever the file's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator

from tortoise.transactions import in_transaction

from infra.storage import CHUNK_SIZE, StoredStream
from models.stored_file import BlobChunk, StoredFile


class DatabaseStore:
    """Files under one name prefix (`namespace`, e.g. "reports/"), so that areas stay apart."""

    kind = "postgres"

    def __init__(self, chunk_size: int = CHUNK_SIZE, namespace: str = "") -> None:
        self.chunk_size = chunk_size
        self.namespace = namespace

    async def put(self, name: str, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        size = self.chunk_size
        pieces = [data[at : at + size] for at in range(0, len(data), size)]
        async with in_transaction():
            # Two workers storing the same bytes at once write the same rows: the second
            # one's are dropped, and both names end up pointing at one complete blob.
            await BlobChunk.bulk_create(
                [BlobChunk(sha256=digest, seq=seq, data=piece) for seq, piece in enumerate(pieces)],
                ignore_conflicts=True,
            )
            await StoredFile.bulk_create(
                [
                    StoredFile(
                        name=self.namespace + name,
                        sha256=digest,
                        size=len(data),
                        chunks=len(pieces),
                    )
                ],
                on_conflict=["name"],
                update_fields=["sha256", "size", "chunks", "stored_at"],
            )
        return name

    async def exists(self, name: str) -> bool:
        return await StoredFile.exists(name=self.namespace + name)

    async def open(self, name: str) -> StoredStream | None:
        stored = await StoredFile.get_or_none(name=self.namespace + name)
        if stored is None:
            return None
        return StoredStream(stored.size, self._chunks(stored.sha256, stored.chunks))

    async def _chunks(self, digest: str, count: int) -> AsyncGenerator[bytes, None]:
        for seq in range(count):
            yield await self.read_chunk(digest, seq)

    async def read_chunk(self, digest: str, seq: int) -> bytes:
        rows = await BlobChunk.filter(sha256=digest, seq=seq).values_list("data", flat=True)
        if not rows:
            raise FileNotFoundError(f"blob {digest} has no chunk {seq}")
        return bytes(rows[0])  # type: ignore[arg-type]

    async def names(self) -> list[str]:
        found = StoredFile.filter(name__startswith=self.namespace).order_by("name")
        names: list[str] = await found.values_list("name", flat=True)  # type: ignore[assignment]
        return [name[len(self.namespace) :] for name in names]

    async def delete(self, name: str) -> None:
        async with in_transaction():
            stored = await StoredFile.get_or_none(name=self.namespace + name)
            if stored is None:
                return
            await stored.delete()
            # The blob goes with its last name.
            if not await StoredFile.exists(sha256=stored.sha256):
                await BlobChunk.filter(sha256=stored.sha256).delete()
