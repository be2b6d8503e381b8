"""Verify (验证报告): `验证 YX... code` answers with the verification result as text."""

from __future__ import annotations

import re
from typing import Any

from bot.dialogs import StepResult, Turn
from bot.state import IDLE, DialogState
from services.errors import NotFound
from services.ratelimit import check_rate
from services.reports.signing import SnapshotSigner
from services.reports.verification import verify_report

NAME = "verify"
TITLE = "验证报告"

VERIFY_PER_MINUTE = 10
_NUMBER = re.compile(r"YX\d{14}", re.IGNORECASE)
# The code follows the number: "YX... ABCD2345", or a pasted verify link "...?c=ABCD2345".
_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{8}(?![A-Za-z0-9])")
EXPECT = {"ask": "请发送报告编号和8位核验码，例如：YX20261127000001 ABCD2345"}
ASK = (
    "请发送报告编号和核验码，例如：YX20261127000001 ABCD2345"
    "（均印在报告首页，扫描报告二维码也可核验）。"
)


def parse(text: str) -> tuple[str, str] | None:
    """(report number, code) from the text, or None."""
    number = _NUMBER.search(text)
    if number is None:
        return None
    code = _CODE.search(text, number.end())
    if code is None:
        return None
    return number.group(0).upper(), code.group(0).upper()


def mentions_report_number(text: str) -> bool:
    return _NUMBER.search(text) is not None


def result_text(result: dict[str, Any]) -> str:
    span = result["span"]
    lines = [
        ("✅ " if result["genuine"] else "❌ ") + result["verdict"],
        f"报告编号：{result['report_no']}",
        f"企业名称：{result['enterprise_name']}",
        f"统一社会信用代码：{result['uscc']}",
        f"出具时间：{result['issued_at'][:10]}",
        f"时间跨度：{span['from']}至{span['to']}",
        f"核查领域：{len(result['domains'])}个",
    ]
    if result["related"]:
        lines.append(f"关联企业：{'、'.join(result['related'])}")
    if result.get("rule_set_name"):
        lines.append(f"报告规则：{result['rule_set_name']}")
    stale = sorted({d["number"] for d in result.get("stale_domains", ())})
    if stale:
        # The report's own words, shortened for a chat message: which domains, and the legend.
        numbers = "、".join(str(n) for n in stale)
        lines.append(f"数据截至日早于报告期末的领域：第 {numbers} 领域。{result['stale_legend']}")
    lines.append(f"数据状态：{result['data_status']}")
    return "\n".join(lines)


async def _verify(state: DialogState, turn: Turn, found: tuple[str, str]) -> StepResult:
    await check_rate(turn.redis, f"verify:bot:{turn.user_id}", VERIFY_PER_MINUTE)
    signer = SnapshotSigner(turn.settings.report_signing_key)
    try:
        result = await verify_report(*found, signer, actor=f"bot-user:{turn.user_id}")
    except NotFound as exc:
        return DialogState(NAME, "ask"), [f"{exc.message}。可重新发送，或回复“取消”。"]
    return IDLE, [result_text(result)]


async def start(turn: Turn) -> StepResult:
    found = parse(turn.text)
    if found is None:
        return DialogState(NAME, "ask"), [ASK]
    return await _verify(IDLE, turn, found)


async def ask(state: DialogState, turn: Turn) -> StepResult:
    found = parse(turn.text)
    if found is None:
        return state, [f"没有找到报告编号和核验码。{ASK}"]
    return await _verify(state, turn, found)


STEPS = {"ask": ask}
