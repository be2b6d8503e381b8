"""The commands a newcomer runs: they start what is missing and serve real probes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from infra.redis_local import ensure_redis, redis_answers
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_ensure_redis_starts_one_under_var_when_none_answers(tmp_path: Path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert not redis_answers(url)
    client = Redis.from_url(url)
    try:
        assert ensure_redis(url, var_dir=tmp_path) == "started"
        assert (tmp_path / "redis" / "redis.pid").exists()
        assert ensure_redis(url, var_dir=tmp_path) == "external"
        assert await client.ping()
    finally:
        if redis_answers(url):
            await client.shutdown(nosave=True)
        await client.aclose()


def test_ensure_redis_refuses_to_start_one_for_a_remote_host(tmp_path: Path):
    try:
        ensure_redis("redis://192.0.2.1:6379/0", var_dir=tmp_path)
    except RuntimeError as exc:
        assert "does not answer" in str(exc)
    else:
        raise AssertionError("a remote Redis that does not answer must be an error")


async def test_run_py_migrates_and_serves_healthz_and_readyz(tmp_path: Path, database_url: str):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
    }
    migrate = subprocess.run(
        [sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "已迁移" in migrate.stdout
    server = subprocess.Popen(
        [sys.executable, "run.py", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        statuses = await _wait_for_probes(port, deadline=time.monotonic() + 30)
        assert statuses == {"/healthz": 200, "/readyz": 200}
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=15)
    assert "http://127.0.0.1:8080/healthz" in out or "/healthz" in out


async def _wait_for_probes(port: int, deadline: float) -> dict[str, int]:
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                for path in ("/healthz", "/readyz"):
                    async with session.get(f"http://127.0.0.1:{port}{path}") as r:
                        statuses[path] = r.status
                return statuses
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.2)
    return statuses


def test_serve_refuses_an_unknown_worker_stream(tmp_path: Path) -> None:
    env = {**os.environ, "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env")}
    run = subprocess.run(
        [sys.executable, "run.py", "serve", "--with-workers", "--worker-streams", "wx:inbound",
         "no-such-stream"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "未知的队列" in run.stderr and "no-such-stream" in run.stderr
