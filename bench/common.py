"""What the benchmarks share: where PostgreSQL is, and how a timed phase is reported."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Timing:
    label: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")
