"""Durability: what the API acknowledged survives a SIGKILL of the server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from tortoise import connections

from models.record import Record
from models.record_version import RecordVersion
from services.ingest.integrity import verify_record_chain
from tests.conftest import BACKEND, REDIS_URL
from tests.test_ingest_support import (
    NDJSON,
    SAMR,
    auth,
    dept_key,
    make_enterprises,
    ndjson,
    record_row,
)

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_database_commits_durably(cli):
    conn = connections.get("default")
    if BACKEND == "sqlite":
        _, mode = await conn.execute_query("PRAGMA journal_mode")
        _, sync = await conn.execute_query("PRAGMA synchronous")
        assert (tuple(mode[0])[0], tuple(sync[0])[0]) == ("wal", 2)  # 2 is FULL
    else:
        _, rows = await conn.execute_query("SHOW synchronous_commit")
        assert tuple(rows[0])[0] == "on"


async def _wait_until_up(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/healthz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not come up")


async def test_rows_acknowledged_survive_a_sigkill_right_after_the_answer(
    db, database_url, tmp_path
):
    usccs = await make_enterprises(3)
    key = await dept_key(SAMR)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "PORT": str(port),
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "run.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    body = ndjson(record_row(usccs[i % 3], f"K-{i:05d}") for i in range(2_000))
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_until_up(session, base)
            async with session.post(
                f"{base}/api/dept/records",
                data=body,
                headers={**auth(key), "Content-Type": NDJSON},
            ) as r:
                status = r.status
                answer = await r.json()
                server.send_signal(signal.SIGKILL)  # no shutdown, no flush, no goodbye
    finally:
        server.kill()
        server.wait(timeout=10)
    assert status == 200, answer
    assert server.returncode == -signal.SIGKILL
    assert answer["counts"]["created"] == 2_000
    assert await Record.all().count() == 2_000
    assert await RecordVersion.all().count() == 2_000
    assert (await verify_record_chain()).ok
