"""The report's span (时间跨度) as people type it: 近三年, 2021-01-01至2024-12-31, 2022年到2024年.

Parsing only turns words into dates; services.reports.span.check_span then applies the policy's
limits (nothing before 2020-01-01, nothing after today), with the same messages as the mini-program.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from services.errors import InvalidRequest
from services.reports.span import Span, check_span

_NUMERALS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
# 近三年, 最近5年, 近两年, 过去三年
_RECENT = re.compile(r"^(?:最近|近|过去|前)([一两二三四五六七八九十\d]{1,2})年$")
# 2021-01-01, 2021/1/1, 2021.1.1, 2021年1月1日, 20210101, 2021-03 (a month), 2021年 (a year)
DAY = r"(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?|月)?|年|(\d{2})(\d{2}))?"
_RANGE = re.compile(rf"^{DAY}(?:至|到|~|～|—|－|-{{1,2}}|to)+{DAY}$", re.IGNORECASE)
_SINGLE = re.compile(rf"^{DAY}$")

SPAN_HELP = "请回复“近三年”“近五年”，或起止日期，例如“2021-01-01至2024-12-31”“2022年到2024年”"


class SpanNotUnderstood(InvalidRequest):
    """The text is not a span the bot can read."""

    code = "span_not_understood"
    message = f"没有看懂这个时间跨度。{SPAN_HELP}"


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:  # 十, 十二, 二十
        tens, _, ones = text.partition("十")
        return 10 * (_NUMERALS.get(tens, 0) if tens else 1) + _NUMERALS.get(ones, 0)
    return _NUMERALS.get(text, 0)


def bounds(groups: tuple[str | None, ...]) -> tuple[date, date]:
    """The first and last day that one written date stands for (a day, a month or a year)."""
    year_s, month_s, day_s, compact_month, compact_day = groups
    year = int(year_s or 0)
    if compact_month:  # 20210101
        month_s, day_s = compact_month, compact_day
    try:
        if month_s is None:
            return date(year, 1, 1), date(year, 12, 31)
        month = int(month_s)
        if day_s is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        day = date(year, month, int(day_s))
        return day, day
    except ValueError:
        raise InvalidRequest(
            "日期不存在，请核对后重新输入，例如 2021-01-01", code="invalid_date"
        ) from None


def _normalise(text: str) -> str:
    text = text.translate(str.maketrans("０１２３４５６７８９／．－～", "0123456789/.-~"))
    return re.sub(r"\s+", "", text).removesuffix("的").removesuffix("期间")


def parse_span(text: str, today: date) -> Span:
    """The span the user means, checked; InvalidRequest (Chinese message) when it cannot be."""
    text = _normalise(text)
    if text in ("", "默认", "近三年（默认）"):
        text = "近三年"
    text = re.sub(r"(至今|到今天|到现在|以来)$", f"至{today.isoformat()}", text)
    recent = _RECENT.match(text)
    if recent:
        years = _number(recent.group(1))
        if years < 1:
            raise SpanNotUnderstood()
        return check_span(years_before(today, years) + timedelta(days=1), today, today)
    matched = _RANGE.match(text)
    if matched:
        start, _ = bounds(matched.groups()[:5])
        _, end = bounds(matched.groups()[5:])
        explicit_end = matched.group(8) is not None or matched.group(10) is not None
    else:
        single = _SINGLE.match(text)
        if single is None:
            raise SpanNotUnderstood()
        start, end = bounds(single.groups())
        explicit_end = single.group(3) is not None or single.group(5) is not None
    if not explicit_end and start <= today < end:
        end = today  # "2024年到2026年" in 2026 means "until today"
    return check_span(start, end, today)
