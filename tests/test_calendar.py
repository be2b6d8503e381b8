"""Working days under China's holiday notices, and the fallback for uncovered years."""

import json
import logging
from datetime import date, timedelta

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


def test_a_year_without_a_notice_is_estimated_and_logged_once(tmp_path, caplog):
    overrides = tmp_path / "overrides.json"
    overrides.write_text(
        json.dumps({"updated": "2030-12-01", "years": {"2030": {"provenance": "official"}}}),
        encoding="utf-8",
    )
    cal = WorkingDayCalendar(overrides)
    assert cal.provenance(2030) == "official" and cal.provenance(2031) == "estimated"
    assert cal.is_estimated(date(2031, 1, 2)) and not cal.is_estimated(date(2030, 1, 2))
    with caplog.at_level(logging.WARNING, logger="config.calendar"):
        assert not cal.is_working_day(date(2031, 1, 1))  # 元旦, from the package
        assert not cal.is_working_day(date(2031, 1, 5))  # a plain Sunday
        assert cal.is_working_day(date(2031, 1, 6))  # a plain Monday
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1


def test_the_overrides_file_adds_what_a_notice_says_and_the_package_lacks(tmp_path):
    overrides = tmp_path / "overrides.json"
    year = {"provenance": "official", "notice": "国务院办公厅关于2027年部分节假日安排的通知",
            "holidays": ["2027-02-11"], "workdays": ["2027-02-20"]}  # fmt: skip
    overrides.write_text(json.dumps({"years": {"2027": year}}), encoding="utf-8")
    cal = WorkingDayCalendar(overrides)
    assert not cal.is_working_day(date(2027, 2, 11))  # a Thursday, given off by the notice
    assert cal.is_working_day(date(2027, 2, 20))  # a Saturday, a make-up working day
    assert not cal.is_estimated(date(2027, 2, 20))


def test_the_shipped_overrides_mark_2026_official_and_2027_estimated(cal):
    assert [cal.provenance(y) for y in (2024, 2025, 2026, 2027)] == [
        "official", "official", "official", "estimated",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "day",
    [date(2027, 1, 1), date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15), date(2027, 10, 1)],
)
def test_2027_statutory_holidays_are_days_off_even_before_the_notice(cal, day):
    # 元旦, 清明, 端午, 中秋, 国庆: the fallback used to count 4/5, 6/9 and 9/15 as working days.
    assert not cal.is_working_day(day)


def test_the_calendar_agrees_with_chinesecalendar_on_every_day_of_2020_to_2026(cal):
    import chinese_calendar

    day, disagreements = date(2020, 1, 1), []
    while day.year <= 2026:
        if cal.is_working_day(day) != chinese_calendar.is_workday(day):
            disagreements.append(day)
        day += timedelta(days=1)
    assert disagreements == []
