"""Where issued files and objection images live: a local directory, or the database every node
reaches.

`open_store(settings, area=...)` picks one by STORAGE (`fs` or `postgres`); unset, PostgreSQL
deployments keep files in the database and the embedded SQLite one on disk. Each area (issued
reports, objection images) is a directory of its own on disk and a name prefix in the database.
Readers get a file as a stream of chunks, so serving a download never holds a whole PDF in memory.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from config.settings import Settings

# 256 KiB: a typical report PDF is a handful of chunks, a database row stays small.
CHUNK_SIZE = 256 * 1024
STORES = ("fs", "postgres")
AREAS = ("reports", "objections")


@dataclass(frozen=True)
class StoredStream:
    """A stored file being read: its size up front, its bytes chunk by chunk."""

    size: int
    chunks: AsyncGenerator[bytes, None]


class FileStore(Protocol):
    kind: str

    async def put(self, name: str, data: bytes) -> str: ...
    async def exists(self, name: str) -> bool: ...
    async def open(self, name: str) -> StoredStream | None: ...
    async def names(self) -> list[str]: ...
    async def delete(self, name: str) -> None: ...


async def read_all(store: FileStore, name: str) -> bytes:
    """A whole stored file, for the few small uses that need one (a card sent to WeChat)."""
    stream = await store.open(name)
    if stream is None:
        raise FileNotFoundError(name)
    return b"".join([chunk async for chunk in stream.chunks])


def store_kind(settings: Settings) -> str:
    if settings.storage:
        return settings.storage
    return "fs" if settings.is_sqlite else "postgres"


def open_store(settings: Settings, kind: str | None = None, area: str = "reports") -> FileStore:
    """The store of an area (`reports` or `objections`) named by STORAGE (or `kind`)."""
    chosen = kind or store_kind(settings)
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area!r}")
    if chosen == "fs":
        root = settings.reports_dir if area == "reports" else settings.objection_files_dir
        return FileSystemStore(root)
    if chosen == "postgres":
        from infra.db_storage import DatabaseStore

        return DatabaseStore(namespace=f"{area}/")
    raise ValueError(f"STORAGE must be one of {', '.join(STORES)}, got {chosen!r}")


class LocalStorage:
    """Files under a directory, written atomically (a reader never sees half a PDF)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"refusing a name outside the storage root: {name!r}")
        return path

    def put(self, name: str, data: bytes) -> str:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return name

    def get(self, name: str) -> bytes:
        return self._path(name).read_bytes()


class FileSystemStore:
    """The local directory behind the asynchronous interface; disk work runs in threads."""

    kind = "fs"

    def __init__(self, root: Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.local = LocalStorage(root)
        self.chunk_size = chunk_size

    async def put(self, name: str, data: bytes) -> str:
        return await asyncio.to_thread(self.local.put, name, data)

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(self.local._path(name).is_file)

    async def open(self, name: str) -> StoredStream | None:
        path = self.local._path(name)
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            return None
        size = os.fstat(fh.fileno()).st_size
        return StoredStream(size, self._chunks(fh))

    async def _chunks(self, fh: BinaryIO) -> AsyncGenerator[bytes, None]:
        try:
            while chunk := await asyncio.to_thread(fh.read, self.chunk_size):
                yield chunk
        finally:
            fh.close()

    async def names(self) -> list[str]:
        def listing() -> list[str]:
            root = self.local.root
            if not root.is_dir():
                return []
            found = (p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
            return sorted(str(p.relative_to(root)) for p in found)

        return await asyncio.to_thread(listing)

    async def delete(self, name: str) -> None:
        def remove() -> None:
            path = self.local._path(name)
            path.unlink(missing_ok=True)
            # Directories the file was alone in go too (the root stays).
            root = self.local.root.resolve()
            for parent in path.parents:
                if parent == root or root not in parent.parents:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break

        await asyncio.to_thread(remove)
