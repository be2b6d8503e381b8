"""Report (申请报告): enterprise, domains, span, purpose, confirmation; then the report is queued.

The card and links are sent by the outbound side when the render job finishes.
"""

from __future__ import annotations

from datetime import date

from bot.dialogs import (
    NO_WORDS,
    YES_WORDS,
    Acting,
    StepResult,
    Turn,
    enterprises_for,
    not_allowed_text,
    numbered,
    pick_number,
)
from bot.parse_domains import DOMAINS_HELP, catalogue_list, describe, parse_domains
from bot.parse_span import SPAN_HELP, parse_span
from bot.state import IDLE, DialogState, once
from models.enums import ReportPurpose
from services.access import require_scope
from services.audit import append_audit
from services.reports import ReportRequest, request_report

NAME = "report"
TITLE = "申请报告"
DOING = "申请报告"

LIST_WORDS = frozenset({"领域", "清单", "列表", "领域清单", "查看清单"})
PURPOSES = list(ReportPurpose)
# Short forms people type for a purpose.
PURPOSE_WORDS = {
    "上市": ReportPurpose.LISTING,
    "挂牌": ReportPurpose.LISTING,
    "融资": ReportPurpose.REFINANCING,
    "并购": ReportPurpose.MERGER,
    "重组": ReportPurpose.MERGER,
    "债券": ReportPurpose.BOND,
    "发债": ReportPurpose.BOND,
}

DOMAINS_QUESTION = f"请选择核查领域：{DOMAINS_HELP}。"
SPAN_QUESTION = f"请选择时间跨度：{SPAN_HELP}。"
PURPOSE_QUESTION = "请选择报告用途（回复序号）：\n" + numbered([p.label for p in PURPOSES])


def _acting(state: DialogState) -> Acting:
    return Acting(**state.data["enterprise"])


def _for_enterprise(acting: Acting) -> StepResult:
    state = DialogState(NAME, "domains", {"enterprise": acting.__dict__})
    return state, [
        f"为“{acting.name}”申请专项信用报告（上市版）。\n{DOMAINS_QUESTION}",
        "40个领域：\n" + catalogue_list(),
    ]


async def start(turn: Turn) -> StepResult:
    acting, bound = await enterprises_for(turn.user.id, "reports")
    if not acting:
        return IDLE, [not_allowed_text(bound, DOING)]
    if len(acting) == 1:
        return _for_enterprise(acting[0])
    state = DialogState(NAME, "enterprise", {"choices": [a.__dict__ for a in acting]})
    return state, ["请选择要申请报告的企业（回复序号）：\n" + numbered([a.name for a in acting])]


async def choose_enterprise(state: DialogState, turn: Turn) -> StepResult:
    choices = state.data["choices"]
    index = pick_number(turn.text, len(choices))
    if index is None:
        return state, [f"请回复企业前面的序号（1至{len(choices)}），或回复“取消”。"]
    return _for_enterprise(Acting(**choices[index]))


async def choose_domains(state: DialogState, turn: Turn) -> StepResult:
    if turn.word in LIST_WORDS:
        return state, ["40个领域：\n" + catalogue_list()]
    domains = parse_domains(turn.text)
    return state.at("span", domains=domains), [f"已选择：{describe(domains)}。\n{SPAN_QUESTION}"]


async def choose_span(state: DialogState, turn: Turn) -> StepResult:
    span = parse_span(turn.text, turn.today)
    state = state.at("purpose", start=span.start.isoformat(), end=span.end.isoformat())
    return state, [
        f"时间跨度：{span.start:%Y年%m月%d日}至{span.end:%Y年%m月%d日}。\n{PURPOSE_QUESTION}"
    ]


def _purpose(text: str) -> ReportPurpose | None:
    index = pick_number(text, len(PURPOSES))
    if index is not None:
        return PURPOSES[index]
    for purpose in PURPOSES:
        if purpose.label in text or text == purpose.value:
            return purpose
    return next((p for word, p in PURPOSE_WORDS.items() if word in text), None)


def summary(state: DialogState) -> str:
    start, end = (date.fromisoformat(state.data[k]) for k in ("start", "end"))
    return (
        f"请确认：\n企业：{_acting(state).name}\n领域：{describe(state.data['domains'])}\n"
        f"时间跨度：{start:%Y年%m月%d日}至{end:%Y年%m月%d日}\n"
        f"用途：{ReportPurpose(state.data['purpose']).label}\n"
        "回复“确认”提交，或回复“取消”放弃。"
    )


async def choose_purpose(state: DialogState, turn: Turn) -> StepResult:
    purpose = _purpose(turn.word)
    if purpose is None:
        return state, [f"没有看懂这个用途。{PURPOSE_QUESTION}"]
    state = state.at("confirm", purpose=purpose.value)
    return state, [summary(state)]


async def confirm(state: DialogState, turn: Turn) -> StepResult:
    if turn.word in NO_WORDS:
        return IDLE, ["好的，已放弃本次申请。回复“菜单”可查看其他服务。"]
    if turn.word not in YES_WORDS:
        return state, ["请回复“确认”提交申请，或回复“取消”放弃。"]
    acting = _acting(state)

    async def submit() -> dict[str, str | int]:
        # The binding is checked again: it may have been revoked while the user was choosing.
        await require_scope(turn.user.id, acting.enterprise_id, "reports")
        report = await request_report(
            turn.redis,
            ReportRequest(
                uscc=acting.uscc,
                domains=state.data["domains"],
                start=state.data["start"],
                end=state.data["end"],
                purpose=state.data["purpose"],
                channel="bot",
                requester_id=turn.user.id,
            ),
            today=turn.today,
        )
        await append_audit(f"user:{turn.user.id}", "report.requested", "report", report.number,
                           {"channel": "bot", "uscc": acting.uscc})  # fmt: skip
        return {"report_id": report.id, "number": report.number}

    done = await once(turn.redis, turn.once_key("report"), submit)
    return IDLE, [
        f"已受理，报告编号 {done['number']}，正在生成…\n生成后将发送报告图片和下载链接，请稍候。"
    ]


STEPS = {
    "enterprise": choose_enterprise,
    "domains": choose_domains,
    "span": choose_span,
    "purpose": choose_purpose,
    "confirm": confirm,
}
