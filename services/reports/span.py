"""The report's span (时间跨度) and domain choice, checked against the policy's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from config.catalogue import DOMAINS_BY_NUMBER, EARLIEST_DATE
from services.errors import InvalidRequest, Unprocessable

DEFAULT_YEARS = 3


@dataclass(frozen=True)
class Span:
    start: date
    end: date


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _parse(value: date | str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"日期格式有误：{value}，请使用“年-月-日”格式，例如 2023-01-31",
            code="invalid_date",
            field=field,
        ) from None


def check_span(start: date | str | None, end: date | str | None, today: date) -> Span:
    """The span asked for (default: the last three years); refuses what the data cannot cover."""
    end_day = _parse(end, "to") or today
    # The default: three years back from the end, but never before the data starts.
    start_day = _parse(start, "from") or max(
        EARLIEST_DATE, _years_before(end_day, DEFAULT_YEARS) + timedelta(days=1)
    )
    if start_day < EARLIEST_DATE:
        raise Unprocessable(
            "查询起始日期不能早于2020年1月1日：出证机关报送的是2020年1月1日以来的违法违规信息",
            code="span_before_2020",
            field="from",
        )
    if end_day > today:
        raise Unprocessable("查询截止日期不能晚于今天", code="span_in_future", field="to")
    if start_day > end_day:
        raise Unprocessable("查询起始日期不能晚于截止日期", code="span_reversed", field="from")
    return Span(start_day, end_day)


def years_span(years: int, today: date) -> Span:
    """The preset “近N年”: N years back to today, never before the data starts."""
    return Span(max(EARLIEST_DATE, _years_before(today, years) + timedelta(days=1)), today)


def check_domains(domains: list[int] | list[str] | str | None) -> list[int]:
    """Domain numbers, ascending and unique; None or "all" means all 40."""
    if domains is None or domains == "all" or domains == []:
        return sorted(DOMAINS_BY_NUMBER)
    if isinstance(domains, str):
        domains = [d for d in domains.replace("，", ",").split(",") if d.strip()]
    numbers: set[int] = set()
    for value in domains:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number not in DOMAINS_BY_NUMBER:
            raise InvalidRequest(
                f"未知的领域：{value}，领域序号应为1至40", code="unknown_domain", domain=str(value)
            )
        numbers.add(number)
    return sorted(numbers)
