"""ReportView -> the PNG card the bot sends: 1080 px wide, well under WeChat's 2 MB image limit.

It summarises, it does not replace: the signed PDF is the report, and the card says so. Typst lays
it out (templates/card.typ, 360 pt wide at 216 ppi) from `card_data(view)`, with the warm compiler
of render/typst_engine.py; its height follows the content, so a long enterprise name or many
related enterprises grow the card instead of clipping it. It was measured against a Pillow card of
the same design (bench/pillow_card.py) in the same run and took 0.28-0.45x its time.
"""

from __future__ import annotations

from typing import Any

from render.document import tally
from render.html import cn_date, cn_datetime
from render.qr import qr_svg
from render.typst_engine import compile_typst
from render.view import DomainResult, Outcome, ReportView, Section
from render.wording import POLICY_NO, TITLE

WIDTH = 1080
PPI = 216  # 360 pt wide -> 1080 px
MAX_BYTES = 2 * 1024 * 1024  # WeChat's limit for an image message
DISCLAIMER = "本图为报告摘要，仅供快速查阅；内容以加盖电子签章的 PDF 报告为准。"


class CardTooLargeError(RuntimeError):
    """The PNG came out over WeChat's 2 MB limit."""


def found_line(domain: DomainResult) -> str:
    """A found domain's line on the card: what was found, in the report's terms."""
    parts = []
    if domain.records:
        parts.append(f"违法违规信息 {len(domain.records)} 条")
    if domain.arrears:
        owed = "尚未缴清的欠缴信息" if domain.arrears_on else "欠缴信息"
        parts.append(f"{owed} {len(domain.arrears)} 条")
    if domain.arrears_paid:
        parts.append(f"报告期内已缴清的欠缴信息 {len(domain.arrears_paid)} 条")
    repaired = sum(1 for r in (*domain.records, *domain.arrears) if r.status == "已修复")
    tail = f"（其中已修复 {repaired} 条）" if repaired else ""
    return f"{domain.number:>2}  {domain.name}：{'，'.join(parts)}{tail}"


def clear_headline(section: Section) -> str:
    """The line for a section with nothing found; it never covers domains that have no data."""
    if section.count(Outcome.NO_DATA):
        return "报告期内有数据的查询领域均未查见违法违规信息"
    if section.stale_domains:  # some data stop before the span's end: a note says where
        return "已归集的数据中各查询领域均未查见违法违规信息"
    return "报告期内各查询领域均未查见违法违规信息"


def stale_line(domains: tuple[DomainResult, ...]) -> str:
    """The card's legend of stale domains: what was searched, and up to when."""
    names = "、".join(f"{d.number} {d.name}（截至{cn_date(d.data_as_of)}）" for d in domains)  # type: ignore[arg-type]
    return f"数据未覆盖至报告期末（所列日期以后的信息尚未归集，不作结论）：{names}"


def card_data(view: ReportView) -> dict[str, Any]:
    """Everything the card shows, as the template's JSON input."""
    main = view.main
    found = main.found_domains
    blank = [d for d in main.domains if d.outcome is Outcome.NO_DATA]
    no_data = "、".join(f"{d.number} {d.name}" for d in blank)
    notes = [f"暂无数据（不作结论）：{no_data}"] if no_data else []
    if main.stale_domains:
        notes.append(stale_line(main.stale_domains))
    tallies = (("查见信息", Outcome.FOUND), ("未查见", Outcome.CLEAR),
               ("暂无数据", Outcome.NO_DATA))  # fmt: skip
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
        "findings": [found_line(d) for d in found],
        "notes": notes,
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
        "disclaimer": DISCLAIMER,
    }


def render_card(view: ReportView) -> bytes:
    """The summary card as PNG bytes, 1080 px wide; raises CardTooLargeError over 2 MB."""
    data = compile_typst("card.typ", card_data(view), "png", ppi=PPI)
    if len(data) > MAX_BYTES:
        raise CardTooLargeError(f"card is {len(data)} bytes, over WeChat's {MAX_BYTES}")
    return data
