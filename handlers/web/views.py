"""How the web pages arrange what the services return: the domain groups, the report form."""

from __future__ import annotations

from datetime import date
from typing import Any

from multidict import MultiMapping

from config.catalogue import DOMAINS_BY_NUMBER
from services.errors import InvalidRequest
from services.reports.span import years_span

# The 40 domains in groups a person scans more easily than a list of forty (by the kind of
# authority behind them); search and 全部 work across the groups.
DOMAIN_GROUPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("市场与经营", (21, 22, 27, 33, 34, 9, 29)),
    ("财税与金融", (5, 26, 30, 36, 37, 38)),
    ("建设与资源", (6, 14, 15, 16, 17, 18, 19, 20, 32)),
    ("社会与民生", (7, 11, 13, 23, 24, 28)),
    ("安全与治理", (10, 12, 25, 31, 35, 40)),
    ("网络、科技与文化", (1, 2, 3, 4, 8, 39)),
)
SPAN_PRESETS = (("1", "近1年"), ("3", "近3年"), ("5", "近5年"), ("custom", "自定义"))


def domain_groups(options: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    by_number = {d["number"]: d for d in options["domains"]}
    return [(name, [by_number[n] for n in sorted(numbers)]) for name, numbers in DOMAIN_GROUPS]


def report_body(form: MultiMapping[Any], today: date) -> dict[str, Any]:
    """The report form as the request body the services take (the mini-program's shape)."""
    chosen = [str(v) for v in form.getall("domains", [])]
    if form.get("all_domains") or not chosen:
        domains: Any = "all"
    else:
        domains = chosen
    span = str(form.get("span", "3"))
    if span == "custom":
        start, end = str(form.get("from", "")), str(form.get("to", ""))
    elif span in ("1", "3", "5"):
        preset = years_span(int(span), today)
        start, end = preset.start.isoformat(), preset.end.isoformat()
    else:
        raise InvalidRequest("请选择查询时间跨度", code="invalid_span")
    return {
        "uscc": str(form.get("uscc", "")),
        "domains": domains,
        "from": start,
        "to": end,
        "purpose": str(form.get("purpose", "listing")),
        "related": form.get("related") == "1",
    }


def domain_names(numbers: list[int] | str) -> list[str]:
    if numbers == "all":
        return ["全部40个领域"]
    return [f"{n}. {DOMAINS_BY_NUMBER[int(n)].name}" for n in numbers]
