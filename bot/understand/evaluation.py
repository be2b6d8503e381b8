"""How well understanding does on a labelled set (tests/data/understanding_eval.jsonl).

Each line: {"text", "intent", "slots": {...}, "facts": [...]} where `slots` are all the slots
expected (an exact match: a slot too many is a miss) and `facts` (questions only) are phrases the
answer must contain. The figures are fractions of the lines that have something to check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.understand import understand

EVAL_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "understanding_eval.jsonl"
# The day the set's spans (近三年, 去年, 今年) are read on.
EVAL_TODAY = date(2026, 11, 27)


@dataclass
class Scores:
    total: int = 0
    intents_right: int = 0
    slots_right: int = 0
    questions: int = 0
    facts_right: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.total if self.total else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.total if self.total else 0.0

    @property
    def fact_accuracy(self) -> float:
        return self.facts_right / self.questions if self.questions else 0.0

    def summary(self) -> str:
        return (
            f"{self.total} utterances: intent {self.intent_accuracy:.1%}, exact slots "
            f"{self.slot_accuracy:.1%}, FAQ answers with their facts {self.fact_accuracy:.1%} "
            f"({self.questions} questions)"
        )


def load(path: Path = EVAL_SET) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def evaluate(rows: list[dict[str, Any]], today: date = EVAL_TODAY) -> Scores:
    scores = Scores()
    for row in rows:
        got = understand(row["text"], today)
        intent_ok = got.intent == row["intent"]
        slots_ok = got.slots == row.get("slots", {})
        facts = row.get("facts", [])
        facts_ok = all(fact in (got.answer or "") for fact in facts)
        scores.total += 1
        scores.intents_right += intent_ok
        scores.slots_right += slots_ok
        if facts:
            scores.questions += 1
            scores.facts_right += facts_ok
        if not (intent_ok and slots_ok and facts_ok):
            scores.misses.append({"expected": row, "got": got.to_dict()})
    return scores
