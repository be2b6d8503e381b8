"""Report rule sets (报告规则): named, versioned decisions about what a report includes.

A report stores the rule set it was issued under in its signed snapshot and prints it, so a
reader can tell which policy's counting it follows. The default follows the seed policy
(渝府办发〔2024〕89号); the REPORT_RULE_SET setting chooses another. Changing what a rule set does
means a new version, never an edit of an old one: reports issued under it must keep meaning
what they said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.catalogue import DOMAINS
from models.enums import PenaltyProcedure

# 13, 30, 36 and 37: the domains whose 核查事项 asks about arrears (有无欠缴……).
ARREARS_DOMAINS = frozenset(d.number for d in DOMAINS if d.checks_arrears)


@dataclass(frozen=True)
class ReportRuleSet:
    name: str
    version: int
    basis: str  # the document whose counting it follows
    # The penalty procedures a report lists; None lists every penalty with no procedure shown
    # (reports issued before procedures were captured).
    procedures: frozenset[PenaltyProcedure] | None
    # Arrears (欠缴) as a state on the issue date, whatever their decision date; False: only
    # those decided within the span, like violations (reports issued before this rule).
    arrears_on_issue_date: bool
    # Arrears domains that also list arrears decided within the span and paid since.
    arrears_paid_listed: frozenset[int]
    summary: str  # printed on the report

    def to_snapshot(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "basis": self.basis,
                "summary": self.summary}  # fmt: skip


# 89号 "二、适用范围": "作出行政处罚（普通程序）……等措施的客观记载".
CQ_2024_89 = ReportRuleSet(
    name="cq-2024-89",
    version=1,
    basis="渝府办发〔2024〕89号",
    procedures=frozenset({PenaltyProcedure.ORDINARY, PenaltyProcedure.UNSTATED}),
    arrears_on_issue_date=True,
    arrears_paid_listed=ARREARS_DOMAINS,
    summary=(
        "行政处罚仅列示按普通程序作出的决定；出证机关未注明处罚程序的一并列示，并标注“未注明程序”。"
        "欠缴情况按出具日是否仍有欠缴认定，报告期内已缴清的欠缴另行列示。"
    ),
)

# 发改财金〔2025〕565号: administrative penalties including simple procedure (含简易程序).
NDRC_2025_565 = ReportRuleSet(
    name="ndrc-2025-565",
    version=1,
    basis="发改财金〔2025〕565号",
    procedures=frozenset(PenaltyProcedure),
    arrears_on_issue_date=True,
    arrears_paid_listed=ARREARS_DOMAINS,
    summary=(
        "行政处罚含简易程序，按简易程序作出的决定标注“简易程序”；出证机关未注明处罚程序的标注"
        "“未注明程序”。欠缴情况按出具日是否仍有欠缴认定，报告期内已缴清的欠缴另行列示。"
    ),
)

# What reports issued before rule sets existed did; used only to re-check their data.
BEFORE_RULE_SETS = ReportRuleSet(
    name="",
    version=0,
    basis="",
    procedures=None,
    arrears_on_issue_date=False,
    arrears_paid_listed=frozenset(),
    summary="",
)

# Every version ever issued under, by (name, version); a new version is added, never edited in.
VERSIONS = {(r.name, r.version): r for r in (CQ_2024_89, NDRC_2025_565)}
LATEST = {name: VERSIONS[(name, max(v for n, v in VERSIONS if n == name))] for name, _ in VERSIONS}


def rule_set(name: str) -> ReportRuleSet:
    """The latest version of the rule set of that name; a ValueError names the known ones."""
    try:
        return LATEST[name]
    except KeyError:
        known = ", ".join(LATEST)
        raise ValueError(f"unknown report rule set {name!r}: one of {known}") from None


def rule_set_of_snapshot(snapshot: Mapping[str, Any]) -> ReportRuleSet:
    """The rule set a stored snapshot was issued under (before rule sets: BEFORE_RULE_SETS)."""
    stored = snapshot.get("rule_set")
    if not isinstance(stored, Mapping):
        return BEFORE_RULE_SETS
    key = (stored.get("name"), stored.get("version"))
    if key not in VERSIONS:
        raise ValueError(f"unknown report rule set {key!r}")
    return VERSIONS[key]  # type: ignore[index]
