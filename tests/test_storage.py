"""Issued files in a store every node reaches: the database store, the local one, moving
files between them, and a report rendered on one node downloaded through another."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from config.settings import Settings, SettingsError
from infra.db_storage import DatabaseStore
from infra.storage import FileSystemStore, open_store, read_all
from infra.storage_migrate import migrate_files
from models.stored_file import BlobChunk, StoredFile
from services.reports.verification import signed_download_url
from tests.test_reports import issued
from tests.wechat_support import ready_report

ROOT = Path(__file__).resolve().parent.parent
DATA = bytes(range(256)) * 22  # 5,632 bytes: six chunks of 1,000


async def test_the_database_store_keeps_a_file_in_chunks_and_gives_it_back(db) -> None:
    store = DatabaseStore(chunk_size=1000)
    assert await store.put("YX1.pdf", DATA) == "YX1.pdf"
    stream = await store.open("YX1.pdf")
    assert stream is not None and stream.size == len(DATA)
    assert [len(c) async for c in stream.chunks] == [1000] * 5 + [632]
    assert await read_all(store, "YX1.pdf") == DATA
    assert await store.exists("YX1.pdf") and not await store.exists("YX2.pdf")
    assert await store.open("YX2.pdf") is None
    with pytest.raises(FileNotFoundError):
        await read_all(store, "YX2.pdf")


async def test_equal_bytes_under_two_names_are_one_blob_and_a_name_can_be_rewritten(db) -> None:
    store = DatabaseStore(chunk_size=1000)
    await store.put("a.png", DATA)
    await store.put("b.png", DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    assert await BlobChunk.filter(sha256=digest).count() == 6
    await store.put("b.png", b"other")
    assert await read_all(store, "b.png") == b"other"
    assert await read_all(store, "a.png") == DATA
    assert await store.names() == ["a.png", "b.png"]
    empty = await store.put("empty.bin", b"")
    assert await read_all(store, empty) == b""


async def test_deleting_a_name_keeps_a_blob_another_name_still_holds(db) -> None:
    store = DatabaseStore(chunk_size=1000, namespace="objections/")
    await store.put("YY1/a/01.png", DATA)
    await store.put("YY2/b/01.png", DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    await store.delete("YY1/a/01.png")
    assert await store.names() == ["YY2/b/01.png"]
    assert await BlobChunk.filter(sha256=digest).count() == 6
    await store.delete("YY2/b/01.png")
    await store.delete("YY2/b/01.png")  # twice is harmless
    assert await BlobChunk.filter(sha256=digest).count() == 0
    assert await DatabaseStore(namespace="reports/").names() == []


async def test_the_areas_keep_apart_in_the_database_and_on_disk(
    db, settings: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")
    for kind in ("fs", "postgres"):
        reports = open_store(settings, kind, area="reports")
        photos = open_store(settings, kind, area="objections")
        await photos.put("YY1/a/01.png", b"photo")
        assert await reports.names() == [] and await photos.names() == ["YY1/a/01.png"]
        await photos.delete("YY1/a/01.png")
        assert await photos.names() == []
    assert not any(settings.objection_files_dir.iterdir())  # the emptied folders went too
    with pytest.raises(ValueError):
        open_store(settings, area="elsewhere")


async def test_reading_fetches_one_chunk_at_a_time_as_the_reader_asks(
    db, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DatabaseStore(chunk_size=1000)
    await store.put("YX1.pdf", DATA)
    fetched: list[int] = []
    original = DatabaseStore.read_chunk

    async def counting(self: DatabaseStore, digest: str, seq: int) -> bytes:
        fetched.append(seq)
        return await original(self, digest, seq)

    monkeypatch.setattr(DatabaseStore, "read_chunk", counting)
    stream = await store.open("YX1.pdf")
    assert stream is not None and fetched == []
    assert len(await anext(stream.chunks)) == 1000
    assert fetched == [0]
    assert len(b"".join([c async for c in stream.chunks])) == len(DATA) - 1000
    assert fetched == [0, 1, 2, 3, 4, 5]


async def test_a_missing_chunk_is_an_error_not_a_short_file(db) -> None:
    store = DatabaseStore(chunk_size=1000)
    await store.put("YX1.pdf", DATA)
    await BlobChunk.filter(seq=3).delete()
    with pytest.raises(FileNotFoundError):
        await read_all(store, "YX1.pdf")


async def test_the_file_system_store_streams_in_chunks_and_stays_under_its_root(
    tmp_path: Path,
) -> None:
    store = FileSystemStore(tmp_path / "reports", chunk_size=1000)
    await store.put("YX1.pdf", DATA)
    stream = await store.open("YX1.pdf")
    assert stream is not None and stream.size == len(DATA)
    assert [len(c) async for c in stream.chunks] == [1000] * 5 + [632]
    assert await store.open("YX2.pdf") is None and await store.names() == ["YX1.pdf"]
    with pytest.raises(ValueError):
        await store.put("../escape.pdf", b"x")


def test_the_store_defaults_by_database_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    sqlite = Settings(database_url=f"sqlite://{tmp_path}/x.db")
    postgres = Settings(database_url="postgres://u@h/db")
    assert open_store(sqlite).kind == "fs"
    assert open_store(postgres).kind == "postgres"
    assert open_store(dataclasses.replace(postgres, storage="fs")).kind == "fs"
    with pytest.raises(ValueError, match="STORAGE"):
        open_store(sqlite, "s3")
    with pytest.raises(SettingsError, match="STORAGE"):
        Settings.from_env({"STORAGE": "nfs"})


async def test_migrating_copies_every_file_verified_and_running_it_again_copies_none(
    db, tmp_path: Path
) -> None:
    disk = FileSystemStore(tmp_path / "reports")
    await disk.put("YX1.pdf", DATA)
    await disk.put("YX1.png", b"\x89PNG card")
    database = DatabaseStore(chunk_size=1000)
    await database.put("YX1.png", b"stale bytes")  # the source wins

    first = await migrate_files(disk, database)
    assert first.copied == ["YX1.pdf", "YX1.png"] and not first.mismatched
    assert await read_all(database, "YX1.png") == b"\x89PNG card"
    again = await migrate_files(disk, database)
    assert again.copied == [] and again.already_there == ["YX1.pdf", "YX1.png"]

    back = FileSystemStore(tmp_path / "elsewhere")
    home = await migrate_files(database, back)
    assert home.copied == ["YX1.pdf", "YX1.png"]
    assert (tmp_path / "elsewhere" / "YX1.pdf").read_bytes() == DATA


async def test_the_storage_migrate_command_moves_files_and_says_what_it_did(
    database_url: str, db, tmp_path: Path
) -> None:
    await FileSystemStore(tmp_path / "reports").put("YX1.pdf", DATA)
    await FileSystemStore(tmp_path / "objections").put("YY1/a1/01.png", b"\x89PNG photo")
    env = {**os.environ, "DATABASE_URL": database_url, "REPORTS_DIR": str(tmp_path / "reports"),
           "OBJECTION_FILES_DIR": str(tmp_path / "objections"),
           "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"), "STORAGE": "fs"}  # fmt: skip

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "run.py", "storage", "migrate", *argv], cwd=ROOT,
                              env=env, capture_output=True, text=True)  # fmt: skip

    moved = run("--to", "postgres")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines() == [
        "存储迁移 报告文件 fs → postgres：复制 1 个文件，已存在且一致 0 个，校验失败 0 个",
        "存储迁移 异议附件 fs → postgres：复制 1 个文件，已存在且一致 0 个，校验失败 0 个",
    ]
    assert await read_all(DatabaseStore(namespace="reports/"), "YX1.pdf") == DATA
    photo = await read_all(DatabaseStore(namespace="objections/"), "YY1/a1/01.png")
    assert photo == b"\x89PNG photo"
    again = run("--to", "postgres")
    assert again.stdout.count("复制 0 个文件，已存在且一致 1 个") == 2, again.stdout + again.stderr
    same = run("--to", "fs")
    assert same.returncode == 2 and "源存储与目标存储相同" in same.stderr


def _node(settings: Settings, tmp_path: Path, name: str, storage: str) -> Settings:
    return dataclasses.replace(settings, reports_dir=tmp_path / name, storage=storage)


async def _download(aiohttp_client, settings: Settings, report, kind: str):  # type: ignore[no-untyped-def]
    from handlers.app import create_app

    client = await aiohttp_client(create_app(settings))
    url = signed_download_url(settings, report, kind)
    return await client.get(url.removeprefix(settings.public_base_url))


async def test_a_report_rendered_on_node_a_downloads_through_node_b(
    aiohttp_client, db, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    node_a = _node(settings, tmp_path, "node-a", "postgres")
    node_b = _node(settings, tmp_path, "node-b", "postgres")
    report = await issued(node_a, redis, domains="15")
    assert not (tmp_path / "node-a").exists()  # nothing on node A's disk

    r = await _download(aiohttp_client, node_b, report, "pdf")
    body = await r.read()
    assert r.status == 200, body[:200]
    assert r.headers["Content-Type"] == "application/pdf"
    assert int(r.headers["Content-Length"]) == len(body)
    assert hashlib.sha256(body).hexdigest() == report.pdf_sha256
    card = await _download(aiohttp_client, node_b, report, "png")
    assert card.status == 200 and (await card.read())[:4] == b"\x89PNG"
    assert await StoredFile.filter(name=f"reports/{report.pdf_path}").exists()


async def test_on_local_disks_node_b_cannot_serve_node_a_s_report(
    aiohttp_client, db, settings: Settings, tmp_path: Path
) -> None:
    node_a = _node(settings, tmp_path, "node-a", "fs")
    node_b = _node(settings, tmp_path, "node-b", "fs")
    report = await ready_report(node_a)
    r = await _download(aiohttp_client, node_b, report, "pdf")
    body = await r.json()
    assert r.status == 404 and body["code"] == "report_file_not_found", body


async def test_a_download_is_written_out_chunk_by_chunk_as_it_is_read(
    aiohttp_client, db, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = _node(settings, tmp_path, "node", "postgres")
    report = await ready_report(node)
    big = bytes(range(256)) * 4096 * 3  # 3 MiB: twelve chunks
    await open_store(node).put(report.pdf_path, big)
    events: list[str] = []
    read_chunk, write = DatabaseStore.read_chunk, web.StreamResponse.write

    async def reading(self: DatabaseStore, digest: str, seq: int) -> bytes:
        events.append("read")
        return await read_chunk(self, digest, seq)

    async def writing(self: web.StreamResponse, data: bytes) -> None:
        events.append("write")
        await write(self, data)

    monkeypatch.setattr(DatabaseStore, "read_chunk", reading)
    monkeypatch.setattr(web.StreamResponse, "write", writing)
    r = await _download(aiohttp_client, node, report, "pdf")
    assert r.status == 200 and await r.read() == big
    assert events == ["read", "write"] * 12
