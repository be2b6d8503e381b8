"""One spelling for what people type: half-width digits and letters, no spaces, common typos."""

from __future__ import annotations

import re
import unicodedata

# Typos that the pinyin input method makes (same sound, wrong character) in the bot's own words.
TYPOS = {
    "帮定": "绑定", "邦定": "绑定", "綁定": "绑定", "进渡": "进度", "近度": "进度", "报高": "报告",
    "抱告": "报告", "保告": "报告", "报吿": "报告", "申清": "申请", "伸请": "申请",
    "提意义": "提异议", "有意义": "有异议", "意义申请": "异议申请", "议异": "异议", "核宴": "核验",
    "合验": "核验",
    "验正": "验证", "信用修服": "信用修复", "修附": "修复", "生太": "生态", "环竟": "环境",
    "税物": "税务", "社宝": "社保", "消仿": "消防", "授全码": "授权码", "收权码": "授权码",
    "圈部": "全部", "全布": "全部", "怎莫": "怎么", "咋个": "怎么", "啥子": "什么", "莫得": "没有",
    "要得": "好的", "晓得": "知道", "哪哈": "哪里", "多少前": "多少钱",
}  # fmt: skip
_TYPO_RE = re.compile("|".join(map(re.escape, sorted(TYPOS, key=len, reverse=True))))
_TRAILING = "。.!！~～…,，、?？ "


def normalise(text: str) -> str:
    """NFKC (full-width digits, letters and punctuation to half-width), no spaces, typos fixed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(text.split())
    text = _TYPO_RE.sub(lambda m: TYPOS[m.group(0)], text)
    return text.strip(_TRAILING)
