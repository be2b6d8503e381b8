"""Which intent a message carries: exact menu words first, then weighted words, then typos.

Weighted words come from lexicon.INTENT_WORDS; the strongest intent wins, ties going to the one
earlier in PRIORITY. When no word is found exactly, a strong word within one typo is accepted
(rapidfuzz), so that 申情信用报告 still asks for a report.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from bot import menu
from bot.understand.lexicon import CHITCHAT_WORDS, INTENT_WORDS, QUESTION_WORDS

ACTIONS = ("cancel", "verify", "progress", "repair", "objection", "bind", "report", "help")
# Intents that a question does not turn into a policy question: 核验码在哪输入 is about verifying.
NOT_FAQ = frozenset({"cancel", "verify", "progress", "bind", "help"})
PRIORITY = {intent: rank for rank, intent in enumerate(ACTIONS)}
# An action needs this much weight; a lone 报告 or 申请 inside a question is not a request.
ACTION_MIN = 2
STRONG = 3  # the weight of a word that names an intent outright
FUZZY_MIN = 80
_MENU_INTENT = {"objection": "objection"}  # menu word -> intent, where they differ
_STRONG = {
    word: intent
    for intent, words in INTENT_WORDS.items()
    for word, weight in words.items()
    if weight >= 3 and len(word) >= 3
}
_STRONG_WORDS = list(_STRONG)


def exact(word: str) -> str | None:
    """The intent of a menu number or menu word typed alone."""
    if word in menu.CANCEL_WORDS:
        return "cancel"
    if word in menu.HELP_WORDS:
        return "help"
    if word in ("信用修复", "修复"):
        return "repair"
    dialog = menu.DIALOG_FOR_WORD.get(word)
    return _MENU_INTENT.get(dialog, dialog) if dialog else None


def scores(text: str) -> dict[str, int]:
    """Each intent's weight in the text (intents with none are left out)."""
    found: dict[str, int] = {}
    for intent, words in INTENT_WORDS.items():
        weight = sum(w for word, w in words.items() if word in text)
        if weight:
            found[intent] = weight
    return found


def strongest(found: dict[str, int]) -> tuple[str, int] | None:
    if not found:
        return None
    intent = min(found, key=lambda i: (-found[i], PRIORITY[i]))
    return intent, found[intent]


def fuzzy(text: str) -> str | None:
    """The intent of a strong word the text contains within a typo, or None."""
    if len(text) < 3:
        return None
    best = process.extractOne(
        text, _STRONG_WORDS, scorer=fuzz.partial_ratio, score_cutoff=FUZZY_MIN
    )
    return _STRONG[best[0]] if best else None


def is_how_to(text: str) -> bool:
    return any(word in text for word in ("怎么", "如何", "怎样", "咋"))


def is_question(text: str) -> bool:
    """吗, 多少, 怎么…, or 要…不 (办这个要交钱不)."""
    return any(word in text for word in QUESTION_WORDS) or text.endswith(("不", "没"))


# Words of this service: small talk that mentions them (谢谢，报告呢) is not small talk.
BUSINESS = re.compile("报告|异议|企业|公司|绑定|证明|信用|核验|验证|授权|处罚|领域|进度|办理")


def is_chitchat(text: str) -> bool:
    return any(word in text for word in CHITCHAT_WORDS)
