"""Starts a Redis of our own under var/ when none answers, for the embedded default."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from config.settings import VAR_DIR


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether something at the URL's host and port answers PING with PONG."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout
        ) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    # An instance that wants a password answers -NOAUTH: it is there, just not ours to ping.
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def ensure_redis(url: str, var_dir: Path = VAR_DIR, wait: float = 10.0) -> str:
    """Say "external" if Redis answers at `url`, else start one under var/ and say "started"."""
    if redis_answers(url):
        return "external"
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"Redis at {parts.hostname}:{parts.port} does not answer")
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make install` first")
    data_dir = var_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            binary,
            "--port", str(parts.port or 6379),
            "--bind", "127.0.0.1",
            "--daemonize", "yes",
            "--dir", str(data_dir),
            "--pidfile", str(data_dir / "redis.pid"),
            "--logfile", str(data_dir / "redis.log"),
            "--appendonly", "yes",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if redis_answers(url):
            return "started"
        time.sleep(0.1)
    raise RuntimeError(f"started redis-server but it does not answer; see {data_dir}/redis.log")
