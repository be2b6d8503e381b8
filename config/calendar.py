"""Working days (工作日) under China's public holidays and make-up working days (调休).

`chinesecalendar` carries the State Council's notices year by year. For a year it does not cover,
the calendar falls back to weekends plus the overrides in ``config/holiday_overrides.json``, and
logs that once per year so that nobody mistakes the fallback for the official calendar.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import chinese_calendar

# China Standard Time (UTC+8, no daylight saving): the day a decision, report or due date falls on.
CHINA = timezone(timedelta(hours=8))

log = logging.getLogger(__name__)

DEFAULT_OVERRIDES = Path(__file__).with_name("holiday_overrides.json")


class WorkingDayCalendar:
    """Answers whether a date is a working day, and counts and adds working days."""

    def __init__(self, overrides_path: Path = DEFAULT_OVERRIDES) -> None:
        data = json.loads(overrides_path.read_text(encoding="utf-8"))
        self._holidays = frozenset(date.fromisoformat(d) for d in data.get("holidays", []))
        self._workdays = frozenset(date.fromisoformat(d) for d in data.get("workdays", []))
        self._warned_years: set[int] = set()

    def is_working_day(self, day: date) -> bool:
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return self._fallback_is_working_day(day)

    def is_covered_officially(self, year: int) -> bool:
        """Whether chinesecalendar carries the official notice for this year."""
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

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

    def _fallback_is_working_day(self, day: date) -> bool:
        if day.year not in self._warned_years:
            self._warned_years.add(day.year)
            log.warning(
                "chinesecalendar has no data for %s: using weekends plus config overrides",
                day.year,
            )
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5


@lru_cache(maxsize=4)
def calendar_for(overrides_path: Path = DEFAULT_OVERRIDES) -> WorkingDayCalendar:
    """One shared calendar per overrides file."""
    return WorkingDayCalendar(overrides_path)
