"""Working days under China's holiday notices, and the fallback for uncovered years."""

import json
import logging
from datetime import date

import pytest

from config.calendar import WorkingDayCalendar


@pytest.fixture
def cal() -> WorkingDayCalendar:
    return WorkingDayCalendar()


@pytest.mark.parametrize(
    "day",
    [date(2025, 1, 28), date(2025, 1, 29), date(2025, 2, 4)],  # 春节 2025: 1/28 - 2/4
)
def test_spring_festival_2025_days_are_not_working_days(cal, day):
    assert not cal.is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 10, 1), date(2025, 10, 5), date(2025, 10, 8)])
def test_national_day_2025_days_are_not_working_days(cal, day):
    assert not cal.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [date(2025, 1, 26), date(2025, 2, 8), date(2025, 9, 28), date(2025, 10, 11)],
)
def test_make_up_weekend_days_of_2025_are_working_days(cal, day):
    assert day.weekday() >= 5
    assert cal.is_working_day(day)


def test_an_ordinary_saturday_is_not_a_working_day(cal):
    assert not cal.is_working_day(date(2025, 3, 8))


def test_seven_working_days_after_a_decision_skip_the_national_day_week(cal):
    # Decided Sun 28 Sep 2025 (a make-up day): 29, 30 Sep, then 9, 10, 11 (make-up Sat),
    # 13 and 14 Oct.
    assert cal.add_working_days(date(2025, 9, 28), 7) == date(2025, 10, 14)
    assert cal.working_days_between(date(2025, 9, 28), date(2025, 10, 14)) == 7
    assert cal.working_days_between(date(2025, 10, 14), date(2025, 9, 28)) == 0


def test_uncovered_year_falls_back_to_overrides_and_logs_once(tmp_path, caplog):
    overrides = tmp_path / "overrides.json"
    overrides.write_text(
        json.dumps({"holidays": ["2031-01-01"], "workdays": ["2031-01-04"]}), encoding="utf-8"
    )
    cal = WorkingDayCalendar(overrides)
    assert not cal.is_covered_officially(2031)
    with caplog.at_level(logging.WARNING, logger="config.calendar"):
        assert not cal.is_working_day(date(2031, 1, 1))  # a Wednesday, but a holiday
        assert cal.is_working_day(date(2031, 1, 4))  # a Saturday, but a make-up day
        assert not cal.is_working_day(date(2031, 1, 5))  # a plain Sunday
        assert cal.is_working_day(date(2031, 1, 6))  # a plain Monday
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1


def test_the_shipped_overrides_cover_new_year_2027(cal):
    assert not cal.is_working_day(date(2027, 1, 1))
