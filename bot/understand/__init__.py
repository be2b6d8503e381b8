"""Understanding: one message's text in, its intent and slots out (`understand`).

Pure and fast (well under 5 ms): no I/O after `warm()`, which loads jieba's dictionary and builds
the FAQ index once per process (the bot worker calls it at start; anything else pays it on first
use). Intents: report, bind, objection, repair, progress, verify, help, cancel, faq, unknown.
Slots: domains (numbers or "all"), years or from/to (ISO dates), purpose, uscc, report_no, code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from bot.understand import intents
from bot.understand.facts import facts
from bot.understand.faq import UNANSWERED, Index, Tokenizer, build, tokenizer
from bot.understand.lexicon import DOMAIN_WORDS, INTENT_WORDS, PURPOSE_WORDS
from bot.understand.normalise import normalise
from bot.understand.slots import extract
from config.calendar import CHINA
from config.settings import Settings

INTENTS = ("report", "bind", "objection", "repair", "progress", "verify", "help", "cancel", "faq",
           "unknown")  # fmt: skip
REQUEST_SLOTS = frozenset({"domains", "years", "from", "to", "purpose"})
CHITCHAT = "chitchat"  # within this module only: answered as "unknown", politely


@dataclass(frozen=True)
class Understanding:
    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None  # for faq: the answer with its source, or UNANSWERED
    chitchat: bool = False  # unknown, but small talk: answered politely
    question: bool = False  # worded as a question (吗, 多少, 怎么…)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "slots": self.slots,
                "answer": self.answer}  # fmt: skip


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    known = facts(Settings())
    words = [*DOMAIN_WORDS, *PURPOSE_WORDS, *(w for ws in INTENT_WORDS.values() for w in ws)]
    return tokenizer(words + [topic for fact in known for topic in fact.topics])


@lru_cache(maxsize=8)
def _faq(days: tuple[int, int, int]) -> tuple[Index, tuple[str, ...]]:
    """The index for the objection deadlines in force (the only settings the facts quote)."""
    accept, resolve, repair = days
    known = facts(Settings(objection_accept_days=accept, objection_resolve_days=resolve,
                           objection_repair_days=repair))  # fmt: skip
    topics = tuple(sorted({t for fact in known for t in fact.topics}, key=len, reverse=True))
    return build(known, _tokenizer()), topics


def _faq_for(settings: Settings | None) -> tuple[Index, tuple[str, ...]]:
    settings = settings or _default_settings()
    return _faq((settings.objection_accept_days, settings.objection_resolve_days,
                 settings.objection_repair_days))  # fmt: skip


def warm(settings: Settings | None = None) -> None:
    """Load the dictionary and build the FAQ index now rather than on the first message."""
    understand("帮我开一份近三年的报告", settings=settings)  # cn2an, jieba's dictionary, the index


def _today() -> date:
    return datetime.now(CHINA).date()


def understand(
    text: str, today: date | None = None, settings: Settings | None = None
) -> Understanding:
    """The intent and slots of one message; `today` (China) anchors 近三年, 去年 and the like."""
    norm = normalise(text)
    if not norm:
        return Understanding(text, "unknown")
    slots = extract(norm, today or _today())
    index, topics = _faq_for(settings)
    intent = _intent(norm, slots, topics)
    question = intents.is_question(norm)
    if intent == "faq":
        return Understanding(
            text, "faq", slots, index.answer(norm) or UNANSWERED, question=question
        )
    if intent == CHITCHAT:
        return Understanding(text, "unknown", slots, chitchat=True, question=question)
    return Understanding(text, intent, slots, question=question)


def _intent(norm: str, slots: dict[str, Any], topics: tuple[str, ...]) -> str:
    """In order: a menu word, a report number (verify), small talk, a request that no question
    turns into a policy question (verify, progress...), a how-to (怎么移出: do it), a question
    about a policy topic, any other request, slots alone (a report; a USCC or code: bind), small
    talk after all, any other question, and a request word within a typo."""
    exact = intents.exact(norm.lower())
    if exact:
        return exact
    if "report_no" in slots:
        return "verify"
    top = intents.strongest(intents.scores(norm))
    action = top[0] if top and top[1] >= intents.ACTION_MIN else None
    chitchat = intents.is_chitchat(norm)
    if chitchat and not intents.BUSINESS.search(norm) and action != "cancel":
        return CHITCHAT
    if action in intents.NOT_FAQ:
        return action
    if action and top and top[1] >= intents.STRONG and intents.is_how_to(norm):
        return action
    question = intents.is_question(norm)
    requested = bool(REQUEST_SLOTS & slots.keys())
    if any(topic in norm for topic in topics) and (question or not (action or requested)):
        return "faq"
    if action:
        return action
    if requested:
        return "report"
    if "uscc" in slots or "code" in slots:
        return "bind"
    if chitchat:
        return CHITCHAT
    if question:
        return "faq"
    return intents.fuzzy(norm) or "unknown"


@lru_cache(maxsize=1)
def _default_settings() -> Settings:
    return Settings.from_env()
