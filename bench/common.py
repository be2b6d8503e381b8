"""What the benchmarks share: where PostgreSQL is, and how a timed phase is reported."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import asyncpg

DEFAULT_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Timing:
    label: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database (a scratch one)."""
    return f"{url.rpartition('/')[0]}/{name}"


async def admin_sql(url: str, sql: str) -> None:
    """Run one statement (CREATE / DROP DATABASE) on its own connection."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def print_rows(rows: list[tuple[str, ...]], left: int = 2) -> None:
    """A plain text table: the first `left` columns left-aligned, the figures right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = zip(row, widths, strict=True)
        print("  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(cells)))


def load_parser(description: str) -> argparse.ArgumentParser:
    """The options every load bench shares: how long and how hard to load, where Redis is, and
    the hidden ones by which the bench re-runs itself as the bare server or the load process."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds per server")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--report-id", type=int, help=argparse.SUPPRESS)
    return parser
