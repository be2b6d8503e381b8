"""Test harness: real SQLite or PostgreSQL (one fresh database per test), real Redis.

The backend is chosen by YUCREDIT_TEST_BACKEND (sqlite, the default, or postgres); `make test`
runs the whole suite once per backend. PostgreSQL is reached at TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from config.settings import Settings
from infra.db import database, migrate
from infra.redis_local import redis_answers
from services.reports.catalogue import sync_catalogue

BACKEND = os.environ.get("YUCREDIT_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
# Tables that every test starts with filled (the catalogue) and that truncation keeps.
CATALOGUE_TABLES = {"domain", "department", "domain_ownership", "tortoise_migrations"}


def pytest_report_header(config: pytest.Config) -> str:
    target = POSTGRES_URL if BACKEND == "postgres" else "SQLite (fresh file per test)"
    return f"yucredit test backend: {BACKEND} -> {target}"


async def _prepare(url: str) -> None:
    await migrate(url)
    async with database(url):
        await sync_catalogue()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated and filled with the catalogue, once per test session."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        asyncio.run(_prepare(f"sqlite://{path}"))
        yield str(path)
        return
    name = f"yucredit_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    url = _with_database(POSTGRES_URL, name)
    asyncio.run(_prepare(url))
    try:
        yield url
    finally:
        asyncio.run(_admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin_sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _truncate_postgres(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            if r["tablename"] not in CATALOGUE_TABLES
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def database_url(template_database: str, tmp_path: Path) -> str:
    """A fresh database for this test: a copied SQLite file, or a truncated PostgreSQL one."""
    if BACKEND == "sqlite":
        path = tmp_path / "yucredit.db"
        shutil.copyfile(template_database, path)
        return f"sqlite://{path}"
    await _truncate_postgres(template_database)
    return template_database


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development PKI for the run: every report sealed in the tests chains to it."""
    return tmp_path_factory.mktemp("pki")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, pki_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        public_base_url="http://yucredit.test",
        id_hash_key="test-id-hash-key",
        ops_token="test-ops-token",
        wechat_secret="test-oa-secret",
        mp_secret="test-mp-secret",
        wechat_token="test-token",
        report_signing_key="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        link_signing_key="test-link-key",
        reports_dir=tmp_path / "reports",
        pki_dir=pki_dir,
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """The ORM, open on this test's fresh database."""
    async with database(database_url):
        yield database_url


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=False)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def fake_wechat(aiohttp_server, settings: Settings):  # type: ignore[no-untyped-def]
    """A local fake of WeChat's API that knows this test's apps and records every call.

    Returns the FakeWeChat; `fake_wechat.base_url` is where the app should point.
    """
    from fakes.wechat import FakeWeChat, create_fake_wechat_app

    fake = FakeWeChat(
        {settings.wechat_app_id: settings.wechat_secret, settings.mp_app_id: settings.mp_secret}
    )
    server = await aiohttp_server(create_fake_wechat_app(fake))
    fake.base_url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def cli(aiohttp_client, settings: Settings, db: str, redis: Redis):  # type: ignore[no-untyped-def]
    """A client for the whole application on this test's database and Redis."""
    from handlers.app import create_app

    return await aiohttp_client(create_app(settings))


class PrivateRedis:
    """A redis-server of the test's own, without persistence, that it can kill and restart."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not redis_answers(self.url, 0.2):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def settings_on_fake(settings: Settings, fake_wechat) -> Settings:  # type: ignore[no-untyped-def]
    """The settings pointed at the `fake_wechat` server (its address is known once it serves)."""
    from dataclasses import replace

    return replace(settings, wechat_api_base=fake_wechat.base_url)


@pytest.fixture
async def mp_cli(aiohttp_client, settings_on_fake: Settings, db: str, redis: Redis):  # type: ignore[no-untyped-def]
    """A client for the whole application, its WeChat API base pointed at `fake_wechat`."""
    from handlers.app import create_app

    return await aiohttp_client(create_app(settings_on_fake))
