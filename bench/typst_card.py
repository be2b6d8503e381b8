"""The PNG card laid out by Typst (templates/card.typ), to time and look at beside render/card.py.

Only the benchmark uses it: Pillow's card is the one the platform sends (see the README's
design notes for the figures that decided it).
"""

from __future__ import annotations

from typing import Any

from render.card import _found_line, clear_headline
from render.document import tally
from render.html import cn_date, cn_datetime
from render.qr import qr_svg
from render.typst_engine import compile_typst
from render.view import Outcome, ReportView
from render.wording import POLICY_NO, TITLE

PPI = 216  # 360 pt wide -> 1080 px, the Pillow card's width


def card_data(view: ReportView) -> dict[str, Any]:
    main = view.main
    found = main.found_domains
    no_data = "、".join(
        f"{d.number} {d.name}" for d in main.domains if d.outcome is Outcome.NO_DATA
    )
    tallies = (
        ("查见信息", Outcome.FOUND),
        ("未查见", Outcome.CLEAR),
        ("暂无数据", Outcome.NO_DATA),
    )
    related = []
    for s in view.related:
        seen = "、".join(f"{d.number} {d.name}" for d in s.found_domains)
        related.append({"name": f"{s.enterprise_name}（{s.relation}）",
                        "line": tally(s) + (f"　查见：{seen}" if seen else "")})  # fmt: skip
    return {
        "title": TITLE,
        "basis": f"依据{POLICY_NO}出具 · 用于{view.purpose}",
        "name": main.enterprise_name,
        "subject": [
            f"统一社会信用代码　{main.uscc}",
            f"查询时段　{cn_date(view.span_from)} 至 {cn_date(view.span_to)}",
            f"查询领域　{len(view.domain_numbers)} 个",
        ],
        "tallies": [
            {
                "label": f"{label}（个领域）",
                "count": str(main.count(o)),
                "red": o is Outcome.FOUND and main.count(o) > 0,
            }
            for label, o in tallies
        ],  # fmt: skip
        "findings_heading": "查见信息的领域" if found else clear_headline(main),
        "findings": [_found_line(d) for d in found],
        "notes": [f"暂无数据（不作结论）：{no_data}"] if no_data else [],
        "related_heading": f"关联企业 {len(view.related)} 家" if view.related else "",
        "related": related,
        "qr_svg": qr_svg(view.verify_url),
        "qr_caption": "扫码核验真伪",
        "verification": [
            f"报告编号　{view.report_no}",
            f"核验码　　{view.verify_code}",
            f"出具时间　{cn_datetime(view.issued_at)}",
            f"出具机构　{view.issuer}",
        ],
        "disclaimer": "本图为报告摘要，仅供快速查阅；内容以加盖电子签章的 PDF 报告为准。",
    }


def typst_card(view: ReportView) -> bytes:
    return compile_typst("card.typ", card_data(view), "png", ppi=PPI)
