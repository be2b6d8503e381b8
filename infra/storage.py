"""Where issued files live. A local directory now; an object store can replace it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class ReportStorage(Protocol):
    def put(self, name: str, data: bytes) -> str: ...
    def get(self, name: str) -> bytes: ...


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
