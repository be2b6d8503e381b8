"""Working days (工作日) under China's public holidays and make-up working days (调休).

The days off and make-up working days come from the `holidays` package's China calendar, and
then from ``config/holiday_overrides.json``, a dated file kept in step with the State Council's
yearly notice (国务院办公厅关于某年部分节假日安排的通知). Each year has a provenance:
"official" once the notice is published and entered in the file, "estimated" until then
(the package's statutory days, no make-up working days). Due dates and lateness that rest on an
estimated year say so (预计).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import holidays

# China Standard Time (UTC+8, no daylight saving): the day a decision, report or due date falls on.
CHINA = timezone(timedelta(hours=8))

log = logging.getLogger(__name__)

DEFAULT_OVERRIDES = Path(__file__).with_name("holiday_overrides.json")
OFFICIAL = "official"
ESTIMATED = "estimated"
ESTIMATED_MARK = "预计"


@dataclass(frozen=True)
class YearSource:
    """Where a year's calendar comes from."""

    provenance: str  # OFFICIAL or ESTIMATED
    notice: str = ""  # the State Council notice, for an official year
    holidays: frozenset[date] = frozenset()  # days off that the package lacks
    workdays: frozenset[date] = frozenset()  # make-up working days that the package lacks


class WorkingDayCalendar:
    """Answers whether a date is a working day, and counts and adds working days."""

    def __init__(self, overrides_path: Path = DEFAULT_OVERRIDES) -> None:
        data = json.loads(overrides_path.read_text(encoding="utf-8"))
        self.updated = data.get("updated", "")
        self._years = {int(year): _year_source(entry) for year, entry in data["years"].items()}
        self._package: dict[int, holidays.HolidayBase] = {}
        self._warned: set[int] = set()

    def provenance(self, year: int) -> str:
        """OFFICIAL when the year's State Council notice is entered, else ESTIMATED."""
        source = self._years.get(year)
        return source.provenance if source else ESTIMATED

    def is_estimated(self, *days: date) -> bool:
        """Whether any of these days falls in a year whose calendar is only estimated."""
        return any(self.provenance(d.year) == ESTIMATED for d in days)

    def is_working_day(self, day: date) -> bool:
        source = self._years.get(day.year)
        if source is not None:
            if day in source.workdays:
                return True
            if day in source.holidays:
                return False
        elif day.year not in self._warned:
            self._warned.add(day.year)
            log.warning(
                "no State Council notice entered for %s: its calendar is estimated", day.year
            )
        return self._package_is_working_day(day)

    def _package_is_working_day(self, day: date) -> bool:
        china = self._package.get(day.year)
        if china is None:
            china = self._package[day.year] = holidays.country_holidays("CN", years=day.year)
        return bool(china.is_working_day(day))

    def add_working_days(self, start: date, count: int) -> date:
        """The date that is `count` working days after `start` (start itself not counted)."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; 0 when end <= start."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def _year_source(entry: dict[str, object]) -> YearSource:
    provenance = str(entry.get("provenance"))
    if provenance not in (OFFICIAL, ESTIMATED):
        raise ValueError(f"holiday overrides: provenance must be official or estimated: {entry}")
    return YearSource(
        provenance=provenance,
        notice=str(entry.get("notice") or ""),
        holidays=frozenset(date.fromisoformat(d) for d in entry.get("holidays", ())),  # type: ignore[attr-defined]
        workdays=frozenset(date.fromisoformat(d) for d in entry.get("workdays", ())),  # type: ignore[attr-defined]
    )


@lru_cache(maxsize=4)
def calendar_for(overrides_path: Path = DEFAULT_OVERRIDES) -> WorkingDayCalendar:
    """One shared calendar per overrides file."""
    return WorkingDayCalendar(overrides_path)
