"""Report (申请报告): enterprise, domains, span, purpose, confirmation; then the report is queued.

The card and links are sent by the outbound side when the render job finishes.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot.dialogs import (
    CHANNEL,
    StepResult,
    Turn,
    not_allowed_text,
    numbered,
    pick_number,
    understood,
    yes_or_no,
)
from bot.parse_domains import (
    DOMAINS_HELP,
    DomainsNotUnderstood,
    catalogue_list,
    describe,
    parse_domains,
)
from bot.parse_span import SPAN_HELP, SpanNotUnderstood, parse_span
from bot.state import IDLE, DialogState, once
from bot.understand import REQUEST_SLOTS
from bot.understand.normalise import normalise
from bot.understand.slots import extract, recent_span
from config.catalogue import DOMAINS_BY_NUMBER
from services.access import Acting, Actor, enterprises_for
from services.errors import InvalidRequest
from services.reports.requests import PURPOSE_CHOICES, ReportAsk, request_report
from services.reports.span import check_span

NAME = "report"
TITLE = "申请报告"
DOING = "申请报告"

LIST_WORDS = frozenset({"领域", "清单", "列表", "领域清单", "查看清单"})
PURPOSE_LABELS = dict(PURPOSE_CHOICES)
_PARTS = re.compile(r"[,，;；、/\s]+")
_ADD = re.compile(r"加上|加入|增加|添加|再加|还要|补充")
_REMOVE = re.compile(r"去掉|去除|不要|删掉|删除|减去|拿掉")

DOMAINS_QUESTION = f"请选择核查领域：{DOMAINS_HELP}。"
SPAN_QUESTION = f"请选择时间跨度：{SPAN_HELP}。"
PURPOSE_QUESTION = "请选择报告用途（回复序号）：\n" + numbered(list(PURPOSE_LABELS.values()))
FillResult = tuple[DialogState, list[str]]
# What each step expects, with an example, for a user who was not understood twice in a row.
EXPECT = {
    "enterprise": "请回复企业前面的序号，例如：1",
    "domains": "请告诉我要核查的领域，例如：全部；或 15,37；或 生态环境、税务",
    "span": "请告诉我时间跨度，例如：近三年；或 2022年到2024年",
    "purpose": "请回复报告用途的序号，例如：1（上市挂牌）；也可以直接说“用于发债”",
    "confirm": "请回复“确认”提交；要修改可以说，例如：改成近五年",
}


class PurposeNotUnderstood(InvalidRequest):
    code = "purpose_not_understood"
    message = f"没有看懂这个用途。{PURPOSE_QUESTION}"


def _acting(state: DialogState) -> Acting:
    return Acting(**state.data["enterprise"])


def _span_text(state: DialogState) -> str:
    start, end = (date.fromisoformat(state.data[k]) for k in ("start", "end"))
    return f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"


def _fill(state: DialogState, slots: dict[str, Any], today: date, text: str = "") -> FillResult:
    """The state with what the slots choose, and what to tell the user about them.

    At the confirmation, "加上消防" adds to the domains and "去掉税务" takes away; otherwise the
    domains named replace those chosen.
    """
    data: dict[str, Any] = {}
    notes: list[str] = []
    if slots.get("domains"):
        named = sorted(DOMAINS_BY_NUMBER) if slots["domains"] == "all" else slots["domains"]
        chosen = state.data.get("domains", [])
        if chosen and _ADD.search(text):
            named = sorted({*chosen, *named})
        elif chosen and _REMOVE.search(text):
            named = [n for n in chosen if n not in named] or chosen
        data["domains"] = named
        notes.append(f"已选择：{describe(named)}。")
    if "years" in slots or "from" in slots:
        if "years" in slots:
            start, end = recent_span(slots["years"], today)
        else:
            start, end = date.fromisoformat(slots["from"]), date.fromisoformat(slots["to"])
        try:
            span = check_span(start, end, today)
        except InvalidRequest as exc:  # 近十年 reaches before 2020: say why, ask again
            notes.append(f"{exc.message}。")
        else:
            data.update(start=span.start.isoformat(), end=span.end.isoformat())
            notes.append(f"时间跨度：{span.start:%Y年%m月%d日}至{span.end:%Y年%m月%d日}。")
    if slots.get("purpose"):
        data["purpose"] = slots["purpose"]
        notes.append(f"用途：{PURPOSE_LABELS[slots['purpose']]}。")
    return state.at(state.step, **data), notes


def _next(state: DialogState, notes: list[str]) -> StepResult:
    """Ask for the first thing still missing; the confirmation when nothing is."""
    head = "".join(notes)
    if "domains" not in state.data:
        return state.at("domains"), [
            f"{head}\n{DOMAINS_QUESTION}".lstrip(),
            "40个领域：\n" + catalogue_list(),
        ]
    if "start" not in state.data:
        return state.at("span"), [f"{head}\n{SPAN_QUESTION}".lstrip()]
    if "purpose" not in state.data:
        return state.at("purpose"), [f"{head}\n{PURPOSE_QUESTION}".lstrip()]
    state = state.at("confirm")
    return state, [summary(state)]


def _request_slots(turn: Turn) -> dict[str, Any]:
    slots = understood(turn).slots
    return {k: v for k, v in slots.items() if k in REQUEST_SLOTS}


def _for_enterprise(acting: Acting, slots: dict[str, Any], today: date) -> StepResult:
    state = DialogState(NAME, "domains", {"enterprise": acting.__dict__})
    state, notes = _fill(state, slots, today)
    return _next(state, [f"为“{acting.name}”申请专项信用报告（上市版）。", *notes])


async def start(turn: Turn) -> StepResult:
    """The first question still open: one message can choose domains, span and purpose at once."""
    acting, bound = await enterprises_for(turn.user_id, "reports")
    if not acting:
        return IDLE, [not_allowed_text(bound, DOING)]
    slots = _request_slots(turn)
    if len(acting) == 1:
        return _for_enterprise(acting[0], slots, turn.today)
    choices = [a.__dict__ for a in acting]
    state = DialogState(NAME, "enterprise", {"choices": choices, "slots": slots})
    return state, ["请选择要申请报告的企业（回复序号）：\n" + numbered([a.name for a in acting])]


async def choose_enterprise(state: DialogState, turn: Turn) -> StepResult:
    choices = state.data["choices"]
    index = pick_number(turn.text, len(choices))
    if index is None:
        return state, [f"请回复企业前面的序号（1至{len(choices)}），或回复“取消”。"]
    return _for_enterprise(Acting(**choices[index]), state.data.get("slots", {}), turn.today)


def _understood_part(part: str, today: date) -> bool:
    """A part of a list that names a domain, a span or a purpose (or is empty)."""
    if not part or extract(normalise(part), today):
        return True
    try:
        parse_domains(part)
    except DomainsNotUnderstood:
        return False
    return True


def _by_slots(state: DialogState, turn: Turn, error: InvalidRequest) -> StepResult:
    """A sentence instead of the exact answer ("生态和税务，近五年"): its slots, else the error."""
    slots = _request_slots(turn)
    if not slots:
        raise error
    state, notes = _fill(state, slots, turn.today, turn.word)
    return _next(state, notes)


async def choose_domains(state: DialogState, turn: Turn) -> StepResult:
    if turn.word in LIST_WORDS:
        return state, ["40个领域：\n" + catalogue_list()]
    try:
        domains = parse_domains(turn.text)
    except DomainsNotUnderstood as exc:
        if not all(_understood_part(part, turn.today) for part in _PARTS.split(turn.text)):
            raise  # 生态，火星，99: name what is not a domain rather than drop it
        return _by_slots(state, turn, exc)
    return _next(state.at("span", domains=domains), [f"已选择：{describe(domains)}。"])


async def choose_span(state: DialogState, turn: Turn) -> StepResult:
    try:
        span = parse_span(turn.text, turn.today)
    except SpanNotUnderstood as exc:
        return _by_slots(state, turn, exc)
    state = state.at("purpose", start=span.start.isoformat(), end=span.end.isoformat())
    return _next(state, [f"时间跨度：{span.start:%Y年%m月%d日}至{span.end:%Y年%m月%d日}。"])


def _purpose(text: str) -> str | None:
    """The purpose's value, picked by its number or named by its label."""
    index = pick_number(text, len(PURPOSE_CHOICES))
    if index is not None:
        return PURPOSE_CHOICES[index][0]
    for value, label in PURPOSE_CHOICES:
        if label in text or text == value:
            return value
    return None


def summary(state: DialogState) -> str:
    return (
        f"请确认：\n企业：{_acting(state).name}\n领域：{describe(state.data['domains'])}\n"
        f"时间跨度：{_span_text(state)}\n"
        f"用途：{PURPOSE_LABELS[state.data['purpose']]}\n"
        "回复“确认”提交；要修改可直接说，例如“改成近五年”“加上消防”；回复“取消”放弃。"
    )


async def choose_purpose(state: DialogState, turn: Turn) -> StepResult:
    purpose = _purpose(turn.word)
    if purpose is None:
        return _by_slots(state, turn, PurposeNotUnderstood())
    return _next(state.at("confirm", purpose=purpose), [])


async def confirm(state: DialogState, turn: Turn) -> StepResult:
    answer = yes_or_no(turn.word)
    if answer is None:
        slots = _request_slots(turn)
        if not slots:
            return state, ["请回复“确认”提交申请，或直接说要修改什么，或回复“取消”放弃。"]
        state, _ = _fill(state, slots, turn.today, turn.word)
        return state, [summary(state)]
    if not answer:
        return IDLE, ["好的，已放弃本次申请。回复“菜单”可查看其他服务。"]
    acting = _acting(state)
    data = state.data
    ask = ReportAsk(
        acting.uscc, data["domains"], data["start"], data["end"], data["purpose"], False
    )

    async def submit() -> dict[str, Any]:
        # The use case checks the binding again: it may have been revoked while the user chose.
        return await request_report(
            turn.redis, Actor(user_id=turn.user_id), ask, CHANNEL, today=turn.today
        )

    done = await once(turn.redis, turn.once_key("report"), submit)
    return IDLE, [
        f"已受理，报告编号 {done['report_no']}，正在生成…\n生成后将发送报告图片和下载链接，请稍候。"
    ]


STEPS = {
    "enterprise": choose_enterprise,
    "domains": choose_domains,
    "span": choose_span,
    "purpose": choose_purpose,
    "confirm": confirm,
}
