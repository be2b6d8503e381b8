"""Slots from a whole sentence: domains, span (years, or from/to), purpose, uscc, report_no, code.

Pure: the same text and day give the same slots. Words are looked up longest first, so that
基本建设投资 is domain 6 and not 建设 (16), and 债务融资工具 is a bond, not refinancing.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from bot.parse_span import DAY, bounds, years_before
from bot.understand.lexicon import ALL_DOMAINS_WORDS, DOMAIN_WORDS, PURPOSE_WORDS
from services.errors import InvalidRequest


def _longest_first(words: object) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)  # type: ignore[call-overload]
    return re.compile("|".join(re.escape(w) for w in ordered))


_DOMAIN_RE = _longest_first(DOMAIN_WORDS)
_PURPOSE_RE = _longest_first(PURPOSE_WORDS)
_ALL_RE = _longest_first(ALL_DOMAINS_WORDS)
_NUMERAL = r"[零〇一二两三四五六七八九十\d]{1,3}"
_RECENT = re.compile(
    rf"(?:最近|近|过去|前|这)({_NUMERAL})(?:个)?(?:周?年|年度)|(?<![\d年])({_NUMERAL})年(?:内|以内|之内|来)"
)
_RANGE = re.compile(rf"(?<!\d){DAY}(?:至|到|~|—|-{{1,2}})+{DAY}(?!\d)")
_SINCE = re.compile(rf"(?<!\d){DAY}(?:以来|至今|到现在|到今天|开始|起)")
_ONE_YEAR = re.compile(r"(?<!\d)(\d{4})年(?:度)?(?:的|全年|一年|整年)")
_RELATIVE_YEAR = {"今年": 0, "去年": 1, "前年": 2}
_CHINESE_YEAR = re.compile(r"[零〇一二三四五六七八九]{4}")
_DIGITS = str.maketrans("零〇一二三四五六七八九", "00123456789")
_USCC = re.compile(r"(?<![0-9A-Z])(?=[0-9A-Z]*\d[0-9A-Z]*\d)[0-9A-Z]{18}(?![0-9A-Z])")
_REPORT_NO = re.compile(r"YX\d{14}")
_VERIFY_CODE = re.compile(r"(?:^|[^0-9A-Z])([0-9A-Z]{8})(?![0-9A-Z])")
_NAMED_CODE = re.compile(
    r"(?:授权码|核验码|验证码|校验码)(?:是|为)?[:：\s]*([0-9A-Z][0-9A-Z-]{7,15})"
)


def _number(text: str) -> int | None:
    import cn2an  # a second to import: paid by warm() at worker start, not by a module import

    try:
        return int(cn2an.cn2an(text, "smart"))
    except ValueError:
        return None


def _domains(text: str) -> list[int] | str | None:
    if _ALL_RE.search(text):  # 全部领域; a bare 全部 is left to the domain question
        return "all"
    found: dict[int, None] = {}
    for matched in _DOMAIN_RE.finditer(text):
        numbers = DOMAIN_WORDS[matched.group(0)]
        if len(numbers) == 1:  # a word naming several (金融) is left to the domain question
            found[numbers[0]] = None
    return sorted(found) or None


def _span(text: str, today: date) -> dict[str, Any]:
    text = _CHINESE_YEAR.sub(lambda m: m.group(0).translate(_DIGITS), text)
    recent = _RECENT.search(text)
    if recent:
        years = _number(recent.group(1) or recent.group(2))
        if years:
            return {"years": years}
    try:
        matched = _RANGE.search(text)
        if matched:
            start, end = bounds(matched.groups()[:5])[0], bounds(matched.groups()[5:])[1]
            return _dates(start, end, today)
        since = _SINCE.search(text)
        if since:
            return _dates(bounds(since.groups())[0], today, today)
        one = _ONE_YEAR.search(text)
        if one:
            year = int(one.group(1))
            return _dates(date(year, 1, 1), date(year, 12, 31), today)
    except InvalidRequest:  # a day that does not exist: the dialog asks for the span again
        return {}
    for word, back in _RELATIVE_YEAR.items():
        if word in text:
            year = today.year - back
            return _dates(date(year, 1, 1), date(year, 12, 31), today)
    return {}


def _dates(start: date, end: date, today: date) -> dict[str, str]:
    """A span that runs past today ends today ("2024年到2026年" in 2026)."""
    return {"from": start.isoformat(), "to": min(end, today).isoformat()}


def recent_span(years: int, today: date) -> tuple[date, date]:
    """近N年: the N years that end today."""
    return years_before(today, years) + timedelta(days=1), today


def _codes(upper: str) -> dict[str, str]:
    slots: dict[str, str] = {}
    report_no = _REPORT_NO.search(upper)
    if report_no:
        slots["report_no"] = report_no.group(0)
        code = _VERIFY_CODE.search(upper[report_no.end() :])  # "YX… ABCD2345", "…?c=ABCD2345"
        if code:
            slots["code"] = code.group(1)
    named = _NAMED_CODE.search(upper)
    if named and "code" not in slots:
        slots["code"] = named.group(1).replace("-", "")
    uscc = _USCC.search(_REPORT_NO.sub(" ", upper))
    if uscc:
        slots["uscc"] = uscc.group(0)
    return slots


def extract(text: str, today: date) -> dict[str, Any]:
    """Every slot the (normalised) text fills; absent slots are left out."""
    slots: dict[str, Any] = {}
    domains = _domains(text)
    if domains:
        slots["domains"] = domains
    slots.update(_span(text, today))
    purpose = _PURPOSE_RE.search(text.lower().replace("上市版", ""))  # the report's own name
    if purpose:
        slots["purpose"] = PURPOSE_WORDS[purpose.group(0)]
    slots.update(_codes(text.upper()))
    return slots
