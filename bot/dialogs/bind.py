"""Bind (绑定企业): the USCC, the enterprise's name confirmed, the legal representative's name and
ID number; or an agent's authorisation code (授权码) from the mini-program.

The same rules as the mini-program, in services.accounts.bindings: keyed hashes of ID numbers,
lockout after repeated wrong tries. The ID number is never kept in the dialog state: it is checked
in the step that receives it.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

from bot.dialogs import CHANNEL, StepResult, Turn, understood, yes_or_no
from bot.state import IDLE, DialogState, once
from services.accounts.bindings import (
    CODE_LENGTH,
    bind_from_body,
    bindings_overview,
    enterprise_to_bind,
    normalise_code,
    redeem_from_body,
)
from services.errors import ServiceError

NAME = "bind"
TITLE = "绑定企业"

ASK_USCC = (
    "请发送企业的统一社会信用代码（18位）。\n经办人请直接发送法定代表人在小程序中生成的授权码。"
)
ASK_NAME = "请输入法定代表人姓名。"
ASK_ID = "请输入法定代表人的居民身份证号码（仅用于核验身份，平台不保存明文）。"
# 18 letters and digits is a USCC (maybe mistyped); a code of the agent codes' length is one.
# Anything else is asked again without counting as a wrong try.
_USCC_LIKE = re.compile(r"[0-9A-Za-z]{18}")
_AGENT_CODE = re.compile(r"(?:授权码[:：]?)?([0-9A-Za-z-]+)")
NAME_MATCH = 85  # rapidfuzz ratio: one wrong character in a name of a dozen
# Steps whose answer is free text: no intent is read into it (a name, an ID number).
FREE_TEXT_STEPS = frozenset({"legal_name", "id_number"})
EXPECT = {
    "uscc": "请发送18位统一社会信用代码，例如：91500103MA5U7R6P0X；经办人请发送12位授权码",
    "confirm_name": "请回复“是”（或企业名称）确认这家企业，回复“否”重新输入代码",
    "legal_name": "请输入法定代表人的姓名，例如：张三",
    "id_number": "请输入法定代表人的18位居民身份证号码",
}
_PERSON_NAME = re.compile(r"[\u4e00-\u9fa5·•A-Za-z ]{2,30}")


def _done(binding: dict[str, Any]) -> str:
    """The binding as services.accounts.bindings.describe_binding gives it, told to the user."""
    return (
        f"绑定成功：您已作为{binding['role_label']}绑定“{binding['enterprise']['name']}”。"
        "回复“报告”可申请报告，回复“菜单”查看全部服务。"
    )


async def start(turn: Turn) -> StepResult:
    """Ask for the USCC, unless the message carried one (绑定 9150…) or an authorisation code."""
    slots = understood(turn).slots
    if "uscc" in slots or len(normalise_code(slots.get("code", ""))) == CODE_LENGTH:
        return await _by_code(DialogState(NAME, "uscc"), turn, slots.get("uscc") or slots["code"])
    bindings = await bindings_overview(turn.user_id, with_agents=False)
    bound = [b["enterprise"]["name"] for b in bindings]
    intro = f"您已绑定：{'、'.join(bound)}。如需再绑定一家企业：\n" if bound else ""
    return DialogState(NAME, "uscc"), [intro + ASK_USCC]


async def _redeem(turn: Turn, code: str) -> StepResult:
    async def redeem() -> dict[str, str]:
        binding = await redeem_from_body(turn.redis, turn.user_id, {"code": code}, channel=CHANNEL)
        return {"text": _done(binding)}

    done = await once(turn.redis, turn.once_key("bind"), redeem)
    return IDLE, [done["text"]]


async def ask_uscc(state: DialogState, turn: Turn) -> StepResult:
    word = turn.word.upper()
    if not _USCC_LIKE.fullmatch(word):
        slots = understood(turn).slots  # 代码是9150…, 授权码：ABCD…
        word = slots.get("uscc") or slots.get("code") or word
    return await _by_code(state, turn, word)


async def _by_code(state: DialogState, turn: Turn, word: str) -> StepResult:
    word = word.upper()
    if not _USCC_LIKE.fullmatch(word):
        code = _AGENT_CODE.fullmatch(word)
        if code is None or len(normalise_code(code.group(1))) != CODE_LENGTH:
            return state, [f"没有看懂。{ASK_USCC}"]
        return await _redeem(turn, code.group(1))
    enterprise = await enterprise_to_bind(turn.user_id, word)
    if enterprise is None:
        return state, ["未找到该统一社会信用代码对应的企业，请核对后重新发送。"]
    name = enterprise["name"]
    if enterprise["bound"]:
        return IDLE, [f"您已绑定“{name}”，无需重复绑定。"]
    state = state.at("confirm_name", uscc=enterprise["uscc"], enterprise_name=name)
    return state, [f"企业名称：{name}\n是否为您要绑定的企业？回复“是”继续，回复“否”重新输入。"]


def names_the_enterprise(text: str, name: str) -> bool:
    """The enterprise's own name (or most of it, 渝信示范科技) given as the answer."""
    text = re.sub(
        r"^(?:是的|就是|对的|是|对)[,，]?|(?:这家|这个)?(?:公司|企业)?[。!！]*$", "", text
    )
    if len(text) < 4:
        return False
    short = re.sub(r"^重庆(?:市)?|(?:股份|集团)?有限(?:责任)?公司$", "", name)
    return (
        text in name
        or fuzz.ratio(text, name) >= NAME_MATCH
        or fuzz.ratio(text, short) >= NAME_MATCH
    )


async def confirm_name(state: DialogState, turn: Turn) -> StepResult:
    answer = yes_or_no(turn.word)
    if answer is None and names_the_enterprise(turn.word, state.data["enterprise_name"]):
        answer = True
    if answer:
        return state.at("legal_name"), [ASK_NAME]
    if answer is False:
        return DialogState(NAME, "uscc"), [ASK_USCC]
    return state, ["请回复“是”继续，或回复“否”重新输入统一社会信用代码。"]


async def ask_legal_name(state: DialogState, turn: Turn) -> StepResult:
    name = turn.text
    if not _PERSON_NAME.fullmatch(name):
        return state, [f"姓名格式有误。{ASK_NAME}"]
    return state.at("id_number", legal_rep_name=name), [ASK_ID]


async def ask_id_number(state: DialogState, turn: Turn) -> StepResult:
    details = {
        "uscc": state.data["uscc"],
        "enterprise_name": state.data["enterprise_name"],
        "legal_rep_name": state.data["legal_rep_name"],
        "id_number": turn.word.upper(),
    }

    async def bind() -> dict[str, str]:
        binding = await bind_from_body(turn.redis, turn.user_id, details, channel=CHANNEL)
        return {"text": _done(binding)}

    try:
        done = await once(turn.redis, turn.once_key("bind"), bind)
    except ServiceError as exc:
        if exc.status == 429:  # locked out: trying again now cannot help
            return IDLE, [exc.message]
        return state.at("legal_name"), [f"{exc.message}\n{ASK_NAME}"]
    return IDLE, [done["text"]]


STEPS = {
    "uscc": ask_uscc,
    "confirm_name": confirm_name,
    "legal_name": ask_legal_name,
    "id_number": ask_id_number,
}
