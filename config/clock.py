"""The one clock: "now" and "today" in China time (Asia/Shanghai, UTC+8).

Report numbers, spans, ingestion date checks, tickets, due dates, lateness and the bot all ask
here, so a host in another zone can never make two of them disagree about the date. Tests move
the clock with `frozen_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from config.calendar import CHINA

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current moment, aware, in China time."""
    return _source().astimezone(CHINA)


def utc_now() -> datetime:
    """The current moment, aware, in UTC (what timestamps are stored as)."""
    return _source().astimezone(UTC)


def today() -> date:
    """The calendar date in China."""
    return now().date()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Hold the clock at an aware moment (tests, benchmarks, reproducible demo runs)."""
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    global _source
    previous = _source
    _source = lambda: moment  # noqa: E731
    try:
        yield
    finally:
        _source = previous
