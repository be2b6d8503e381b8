"""ReportView -> the report as plain JSON-able data: every line it prints, in reading order.

The Typst template (templates/report.typ) only lays out what is here: it iterates lists of lines
and rows and knows no sentence of its own, so a line added to the view model shows up in the PDF
once it is added here. A *line* is a list of runs, each run a `[text, style]` pair; style is ""
(plain), "strong", "small", "mono", "found" (a finding, bold) or "nodata" (no conclusion, bold).
"""

from __future__ import annotations

from typing import Any

from render import wording
from render.html import cn_date, cn_datetime, cn_numeral
from render.qr import qr_svg
from render.view import DomainResult, Outcome, RecordLine, ReportView, Section

Run = list[str]  # [text, style]
Line = list[Run]

DOMAIN_COLUMNS = ("序号", "领域", "责任部门", "查询结果", "数据截至")
RECORD_COLUMNS = ("编号", "类别", "决定文书号 / 作出机关 / 日期", "内容摘要", "状态")


def run(text: str, style: str = "") -> Run:
    return [text, style]


def report_document(view: ReportView) -> dict[str, Any]:
    """Everything the PDF shows, as nested dicts, lists and strings (the template's one input)."""
    sections = view.sections
    notes_no = f"{cn_numeral(len(sections) + 1)}、" if view.related else ""
    return {
        "title": wording.TITLE,
        "basis": f"依据{wording.POLICY_NO}出具",
        "report_no": view.report_no,
        "issuer": view.issuer,
        "header": [wording.TITLE, f"报告编号：{view.report_no}"],
        "qr_svg": qr_svg(view.verify_url),
        "qr_caption": "扫码核验真伪",
        "meta": _meta(view),
        "scope": {
            "heading": "查询范围与依据",
            "lead": f"本报告依据{wording.POLICY_NO}{wording.POLICY_TITLE}出具。"
            "该方案“二、适用范围”规定：",
            "quotes": [wording.SCOPE_QUOTE, wording.USE_QUOTE],
        },
        "index": _index(view, notes_no) if view.related else None,
        "sections": [_section(i, s) for i, s in enumerate(sections, 1)],
        "notes": {
            "id": "notes",
            "heading": f"{notes_no}报告说明",
            "items": list(view.notes),
        },
        "signoff": {
            "issuer": view.issuer,
            "lines": [cn_date(view.issued_at.date()), "（本报告以电子签章签署）"],
        },
        "end": "—— 报告结束 ——",
    }


def _meta(view: ReportView) -> list[dict[str, Any]]:
    requester = view.requester
    who = [run(requester.enterprise_name)]
    if requester.uscc != view.main.uscc:
        who += [run("（"), run(requester.uscc, "mono"), run("）")]
    if requester.applicant:
        who.append(run(f"　{requester.applicant}"))
    scope = f"{len(view.domain_numbers)} 个领域"
    if view.related:
        scope += f"；本企业及关联企业 {len(view.sections)} 家"
    rows: list[tuple[str, list[Line]]] = [
        ("报告编号", [[run(view.report_no, "mono")]]),
        ("被查询企业", [[run(view.main.enterprise_name, "strong")],
                        [run("统一社会信用代码：", "small"), run(view.main.uscc, "mono")]]),
        ("申请人", [who, [run(f"申请渠道：{requester.channel}", "small")]]),
        ("报告用途", [[run(view.purpose)]]),
        ("查询时段", [[run(f"{cn_date(view.span_from)} 至 {cn_date(view.span_to)}")]]),
        ("查询范围", [[run(scope)]]),
        ("出具时间", [[run(cn_datetime(view.issued_at))]]),
        *([("报告规则", [[run(view.rule_set, "small")]])] if view.rule_set else []),
        ("核验", [[run("核验码 "), run(view.verify_code, "strong")],
                  [run(view.verify_url, "small")]]),
    ]  # fmt: skip
    return [{"label": label, "lines": lines} for label, lines in rows]


def tally(section: Section) -> str:
    return (
        f"查见 {section.count(Outcome.FOUND)} · 未查见 {section.count(Outcome.CLEAR)} · "
        f"暂无数据 {section.count(Outcome.NO_DATA)}"
    )


def _index(view: ReportView, notes_no: str) -> dict[str, Any]:
    items = [
        {
            "target": f"s{i}",
            "label": f"{cn_numeral(i)}、{s.enterprise_name}（{s.relation or '本企业'}）",
            "tally": tally(s),
        }
        for i, s in enumerate(view.sections, 1)
    ]
    items.append({"target": "notes", "label": f"{notes_no}报告说明", "tally": ""})
    return {"heading": "目录", "items": items}


def _section(i: int, section: Section) -> dict[str, Any]:
    found = section.count(Outcome.FOUND)
    summary = [
        run("统一社会信用代码："),
        run(section.uscc, "mono"),
        run(f"。查询 {len(section.domains)} 个领域，其中查见信息 "),
        run(str(found), "strong"),
        run(
            f" 个，未查见 {section.count(Outcome.CLEAR)} 个，"
            f"暂无数据 {section.count(Outcome.NO_DATA)} 个。"
        ),
    ]
    return {
        "id": f"s{i}",
        "heading": f"{cn_numeral(i)}、{section.enterprise_name}",
        "relation": f"（关联企业：{section.relation}）" if section.relation else "",
        "summary": summary,
        "domains": {
            "columns": list(DOMAIN_COLUMNS),
            "rows": [_domain_row(d) for d in section.domains],
        },
        "records": _records(section),
    }


def result_lines(domain: DomainResult) -> list[Line]:
    """The 查询结果 cell, one line per conclusion (violations, then arrears)."""
    verdict = "found" if domain.records else "nodata" if domain.data_as_of is None else ""
    lines = [[run(domain.result_text, verdict)]]
    if domain.checks_arrears:
        lines.append([run(domain.arrears_text, "found" if domain.arrears else "")])
    return lines


def _domain_row(domain: DomainResult) -> dict[str, Any]:
    return {
        "cells": [str(domain.number), domain.name, domain.departments],
        "result": result_lines(domain),
        "as_of": domain.data_as_of_text,
        "shade": domain.outcome is Outcome.NO_DATA,
    }


def _record_row(no: str, record: RecordLine) -> dict[str, Any]:
    return {
        "no": no,
        "kind": record.kind,
        "decision": [
            [run(record.decision_no)],
            [run(record.authority, "small")],
            [run(record.decision_date.isoformat(), "small")],
        ],
        "summary": record.summary,
        "status": record.status,
    }


def _records(section: Section) -> dict[str, Any] | None:
    if not section.found_domains:
        return None
    groups = []
    for d in section.found_domains:
        # Arrears (owed, then paid since) are numbered after the violations.
        lines = (*d.records, *d.arrears, *d.arrears_paid)
        rows = [_record_row(f"{d.number}-{n}", r) for n, r in enumerate(lines, 1)]
        groups.append({"title": f"{d.number}　{d.name}领域", "rows": rows})
    return {"heading": "违法违规及欠缴信息明细", "columns": list(RECORD_COLUMNS), "groups": groups}
