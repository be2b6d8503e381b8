"""The one place that initialises Tortoise ORM and runs migrations."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations

from models import MODEL_MODULES

log = logging.getLogger(__name__)


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection returned to the pool without the reset round trip.

    On every release asyncpg sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`,
    which doubles the round trips of a one-query request. Nothing here leaves session state
    behind: no LISTEN, no session-level SET or advisory lock (ours are transaction-scoped), no
    cursor outside a transaction. An open transaction is still rolled back on release (asyncpg
    does that separately).
    """

    def get_reset_query(self) -> str:
        return ""


def _connection_config(database_url: str) -> str | dict[str, Any]:
    url = _normalise_url(database_url)
    if not url.startswith("postgres://"):
        return url
    config = expand_db_url(url)
    config["credentials"]["connection_class"] = PooledConnection
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    """Tortoise's configuration for one database URL (sqlite:// or postgres://)."""
    return {
        "connections": {"default": _connection_config(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


def _normalise_url(url: str) -> str:
    # Accept the spellings people paste from other tools.
    for alias in ("postgresql://", "postgresql+asyncpg://", "asyncpg://"):
        if url.startswith(alias):
            return "postgres://" + url[len(alias) :]
    if url.startswith("sqlite://") and url not in ("sqlite://:memory:",):
        path, _, query = url[len("sqlite://") :].partition("?")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _owner_only(path)
        return _with_durable_pragmas(url, query)
    return url


def _owner_only(path: str) -> None:
    """Create the SQLite file readable by its owner alone (it holds hashed ID numbers, encrypted
    phones and the audit log); SQLite gives its -wal and -shm files the same mode."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def _with_durable_pragmas(url: str, query: str) -> str:
    # Tortoise runs each query parameter as a PRAGMA on connecting. WAL is its default already;
    # synchronous=FULL makes a commit fsync the WAL, so that a row acknowledged to a department
    # survives a crash or power loss (NORMAL may lose the last commits).
    given = {part.partition("=")[0] for part in query.split("&") if part}
    extra = [
        f"{k}={v}" for k, v in (("journal_mode", "WAL"), ("synchronous", "FULL")) if k not in given
    ]
    if not extra:
        return url
    return url + ("&" if query else "?") + "&".join(extra)


# Tortoise's state is process-wide, so whether it is open is too.
_state: dict[str, str | None] = {"open_url": None}


def db_is_open() -> bool:
    return _state["open_url"] is not None


async def init_db(database_url: str) -> bool:
    """Open the ORM for this process, global so that request tasks and workers share it.

    Returns False when it was already open (a worker in the same process, or a test), so that
    only the opener closes it.
    """
    if db_is_open():
        return False
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    _state["open_url"] = database_url
    return True


async def close_db() -> None:
    await Tortoise.close_connections()
    _state["open_url"] = None


async def migrate(database_url: str) -> None:
    """Apply every pending migration in models/migrations."""
    # A context of its own, so that migrating leaves no ORM state behind.
    async with TortoiseContext():
        await run_migrations(config=tortoise_config(database_url))


@asynccontextmanager
async def database(database_url: str) -> AsyncIterator[None]:
    """The ORM for the duration of a block, for commands and workers."""
    opened = await init_db(database_url)
    try:
        yield
    finally:
        if opened:
            await close_db()


# For authoring migrations with Tortoise's CLI (no database needed):
#   .venv/bin/tortoise -c infra.db.AUTHORING_CONFIG makemigrations
AUTHORING_CONFIG = tortoise_config("sqlite://:memory:")
