"""More rollout figures (推行情况) for the people who run it, beside services.stats.rollout:
issued reports by district (the USCC's 行政区划代码, characters 3 to 8), by window or terminal,
and the certificates replaced per enterprise; and any of the tables as CSV rows, every cell
neutralised against formula injection.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from stdnum import numdb

from infra.formula import neutralise
from models.enums import Channel, ReportStatus
from models.report import Report

TOP_ENTERPRISES = 20
_LOCATIONS = numdb.get("cn/loc")


def district_name(code: str) -> str:
    """The district or county of a 6-digit division code (python-stdnum's table), else the code."""
    for _, props in _LOCATIONS.info(code):
        county = props.get("county")
        if county:
            return county.split("]")[-1]
    return code


async def breakdown() -> dict[str, Any]:
    """Issued reports by district and by window, and certificates replaced per enterprise."""
    rows = await Report.filter(status=ReportStatus.READY).values_list(
        "enterprise__uscc", "enterprise__name", "channel", "operator", "domains"
    )
    districts: Counter[str] = Counter()
    windows: Counter[tuple[str, str]] = Counter()
    certificates: Counter[tuple[str, str]] = Counter()
    for uscc, name, channel, operator, domains in rows:
        districts[uscc[2:8]] += 1
        if operator:
            windows[(str(channel), operator)] += 1
        certificates[(uscc, name)] += len(domains or [])
    return {
        "by_district": [
            {"code": code, "name": district_name(code), "count": count}
            for code, count in districts.most_common()
        ],
        "by_window": [
            {"channel": Channel(channel).label, "window": window, "count": count}
            for (channel, window), count in windows.most_common()
        ],
        "enterprises": len(certificates),
        "certificates_by_enterprise": [
            {"uscc": uscc, "name": name, "count": count}
            for (uscc, name), count in certificates.most_common(TOP_ENTERPRISES)
        ],
    }


CSV_TABLES = ("district", "channel", "window", "purpose", "domain", "enterprise")


def csv_rows(table: str, stats: dict[str, Any]) -> list[list[str]]:
    """One table of the statistics (stats: rollout_stats with breakdown's figures added) as rows
    with a header, each cell neutralised."""
    reports, more = stats["reports"], stats["breakdown"]
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {
        "district": (["行政区划代码", "区县", "报告数"],
                     [[d["code"], d["name"], d["count"]] for d in more["by_district"]]),
        "channel": (["渠道", "报告数"], [[c["label"], c["count"]] for c in reports["by_channel"]]),
        "window": (["渠道", "窗口或终端", "报告数"],
                   [[w["channel"], w["window"], w["count"]] for w in more["by_window"]]),
        "purpose": (["用途", "报告数"], [[p["label"], p["count"]] for p in reports["by_purpose"]]),
        "domain": (["领域序号", "领域", "替代证明数"],
                   [[d["number"], d["name"], d["count"]] for d in reports["by_domain"]]),
        "enterprise": (["统一社会信用代码", "企业名称", "替代证明数"],
                       [[e["uscc"], e["name"], e["count"]]
                        for e in more["certificates_by_enterprise"]]),
    }  # fmt: skip
    header, body = tables[table]
    return [header, *[[neutralise(str(cell)) for cell in row] for row in body]]
