"""Moving issued files between stores (`run.py storage migrate`), safe to run again.

Each file is read from the source, written to the target unless the target already holds the
same bytes, and read back from the target to check its SHA-256. The source is left as it was:
it can be removed once the deployment reads from the target.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from infra.storage import FileStore, read_all


@dataclass
class Migration:
    copied: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # written, but read back different


async def _digest(store: FileStore, name: str) -> str | None:
    stream = await store.open(name)
    if stream is None:
        return None
    digest = hashlib.sha256()
    async for chunk in stream.chunks:
        digest.update(chunk)
    return digest.hexdigest()


async def migrate_files(source: FileStore, target: FileStore) -> Migration:
    done = Migration()
    for name in await source.names():
        data = await read_all(source, name)
        wanted = hashlib.sha256(data).hexdigest()
        if await _digest(target, name) == wanted:
            done.already_there.append(name)
            continue
        await target.put(name, data)
        if await _digest(target, name) == wanted:
            done.copied.append(name)
        else:
            done.mismatched.append(name)
    return done
