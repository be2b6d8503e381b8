"""The input contract of render/: a ReportView, and how to build one from a canonical snapshot.

render/ is pure (data in, bytes out), so everything a page shows is in a ReportView: frozen
dataclasses of plain values, with every code already turned into the Chinese label that is printed.
The report service assembles a *snapshot* (the canonical JSON that is hashed and signed) and calls
`view_from_snapshot(snapshot)`; render/ never looks anything up elsewhere, except the catalogue
(config/) and the enum labels (models/enums.py), which are code, not data.

Snapshot shape (a JSON-like dict; dates are ISO strings, codes are the enum values)::

    {
      "report_no": "YX20250301000123",
      "verify_code": "K7Q2MX",
      "verify_url": "https://credit.cq.example/verify/YX20250301000123?c=K7Q2MX",
      "issued_at": "2025-03-01T10:15:00+08:00",     # aware datetime, printed in its own offset
      "issuer": "重庆市公共信用信息平台",             # optional, this is the default
      "requester": {
        "enterprise_name": "重庆某某科技股份有限公司",
        "uscc": "91500000MA5U000000",
        "applicant": "张三（经办人）",                # optional: who asked, as printed
        "channel": "miniprogram"                    # models.enums.Channel value
      },
      "purpose": "listing",                         # models.enums.ReportPurpose value
      "rule_set": {"name": "cq-2024-89", "version": 1,  # optional (absent before rule sets):
                   "basis": "渝府办发〔2024〕89号",      # config/rule_sets.py, printed as is
                   "summary": "…"},
      "objection_channels": ["miniprogram", "bot", "hall"],  # optional: Channel values
                                                    # named in the objection note
      "span": {"from": "2022-03-01", "to": "2025-02-28"},
      "sections": [                                 # the enterprise itself first, then related ones
        {
          "enterprise_name": "重庆某某科技股份有限公司",
          "uscc": "91500000MA5U000000",
          "relation": null,                         # null for the enterprise itself, else a
                                                    # models.enums.RelatedRole value: what
                                                    # it is to the enterprise itself
          "domains": [                              # ascending by number, any subset of 1..40
            {
              "number": 13,
              "name": "人力资源和社会保障",          # optional: name, check_text and departments
              "check_text": "…",                    # default to config/catalogue.py; services
              "departments": "市人力社保局",         # should include them: they are what is shown
              "data_as_of": "2025-02-27",           # null: the department has pushed no data yet
              "records": [
                {
                  "kind": "administrative_penalty", # models.enums.RecordKind value
                  "decision_no": "渝人社罚〔2023〕12号",
                  "authority": "重庆市人力资源和社会保障局",
                  "decision_date": "2023-05-06",
                  "summary": "未按规定……",
                  "status": "repaired",             # models.enums.RecordStatus value, or a
                                                    # Chinese label as printed (异议处理中)
                  "under_objection": true,          # optional: a ticket on it is open; printed
                                                    # as 异议处理中 instead of the status
                  "procedure": "ordinary"           # optional, penalties under a rule set:
                                                    # models.enums.PenaltyProcedure value
                }
              ],
              "arrears": {                          # optional, arrears domains under a rule set
                "as_of": "2025-03-01",              # the issue date the state is read on
                "outstanding": [ … ],               # arrears records still owed, any decision date
                "paid": [ … ]                       # decided within the span, paid since (已缴清)
              }
            }
          ]
        }
      ]
    }

Records of an arrears kind (欠缴社会保险费 / 欠缴税费 / 欠缴住房公积金) in an arrears domain
(13, 30, 36, 37: `checks_arrears` in the catalogue) are printed on the domain's own arrears line
(欠缴情况), not among its violation records; with an "arrears" object that line answers on the
issue date. A domain whose data_as_of is before the span's end is stale: its row says up to when
it looked. Revoked records should not be in the snapshot at all
(the service drops them); if one is, it is printed with its 已撤销 status rather than hidden, so the
PDF never says less than the signed snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

from config.catalogue import DOMAINS_BY_NUMBER, department_names
from models.enums import (
    ARREARS_KINDS,
    Channel,
    PenaltyProcedure,
    RecordKind,
    RecordStatus,
    RelatedRole,
    ReportPurpose,
)
from render import wording

NO_RECORD_SENTENCE = "经查询，报告期内未查见该领域违法违规信息"
NO_DATA_SENTENCE = "暂无数据：出证机关尚未报送该领域数据，本报告对该领域不作结论"
NO_DATA_SHORT = "暂无数据"
DEFAULT_ISSUER = "重庆市公共信用信息平台"
UNDER_OBJECTION = "异议处理中"  # a record with an open objection ticket
PAID = "已缴清"  # an arrears record repaired: the debt was paid
# Where objections go when a snapshot does not say (reports issued before it did).
DEFAULT_OBJECTION_CHANNELS = ("miniprogram", "bot", "hall")
PENALTY = RecordKind.ADMINISTRATIVE_PENALTY.value
# How a penalty's kind is printed under a rule set, by its procedure.
PENALTY_KINDS = {
    PenaltyProcedure.ORDINARY.value: "行政处罚（普通程序）",
    PenaltyProcedure.SIMPLE.value: "行政处罚（简易程序）",
    PenaltyProcedure.UNSTATED.value: "行政处罚（未注明程序）",
}

# What each arrears domain checks for (its 核查事项 after "有无欠缴"), for the arrears line.
ARREARS_SUBJECTS: dict[int, str] = {
    13: "社保费用",
    30: "社保费用",
    36: "住房公积金",
    37: "社保费用、税费等",
}


class Outcome(Enum):
    """What a domain's row concludes; NO_DATA must never read like CLEAR."""

    FOUND = "found"  # 查见：records or arrears listed
    CLEAR = "clear"  # 未查见：data present, nothing in the span
    NO_DATA = "no_data"  # 暂无数据：the department has pushed nothing, so no conclusion


@dataclass(frozen=True)
class RecordLine:
    """One record as printed: every field already a display string or a date."""

    kind: str  # 类别 label, e.g. 行政处罚（普通程序）
    decision_no: str
    authority: str
    decision_date: date
    summary: str
    status: str  # 状态 label, e.g. 有效 / 已修复 / 异议处理中


@dataclass(frozen=True)
class DomainResult:
    number: int
    name: str
    check_text: str  # 核查事项, verbatim from the annex
    departments: str  # 责任部门, joined by 、
    data_as_of: date | None  # None: no data pushed yet (暂无数据), never "nothing found"
    records: tuple[RecordLine, ...] = ()
    checks_arrears: bool = False
    # Arrears still owed on arrears_on (the issue date); in reports issued before arrears were
    # a state (arrears_on None), the arrears decided within the span.
    arrears: tuple[RecordLine, ...] = ()
    arrears_paid: tuple[RecordLine, ...] = ()  # decided within the span, paid since
    arrears_on: date | None = None
    span_to: date | None = None  # the span's end, against which data_as_of is judged

    @property
    def outcome(self) -> Outcome:
        if self.records or self.arrears or self.arrears_paid:
            return Outcome.FOUND
        return Outcome.CLEAR if self.data_as_of is not None else Outcome.NO_DATA

    @property
    def stale(self) -> bool:
        """The data reach only part of the span: what is said holds up to data_as_of only."""
        return (
            self.data_as_of is not None and self.span_to is not None
            and self.data_as_of < self.span_to
        )  # fmt: skip

    @property
    def arrears_subject(self) -> str:
        return ARREARS_SUBJECTS.get(self.number, "相关费用")

    @property
    def arrears_text(self) -> str:
        """The 欠缴情况 line; empty for domains that do not check arrears."""
        if not self.checks_arrears:
            return ""
        if self.data_as_of is None and not (self.arrears or self.arrears_paid):
            return f"欠缴情况：{NO_DATA_SHORT}"
        if self.arrears_on is None:  # issued before arrears were read on the issue date
            if self.arrears:
                return f"欠缴情况：查见欠缴信息 {len(self.arrears)} 条（见明细）"
            return f"欠缴情况：未查见欠缴{self.arrears_subject}情形"
        on = self._arrears_date_text
        if self.arrears:
            text = wording.ARREARS_OWED.format(on=on, subject=self.arrears_subject,
                                               n=len(self.arrears))  # fmt: skip
        else:
            text = wording.ARREARS_CLEAR.format(on=on, subject=self.arrears_subject)
        if self._arrears_stale:
            text += wording.STALE_TAIL
        if self.arrears_paid:
            text += "；" + wording.ARREARS_PAID.format(n=len(self.arrears_paid))
        return text

    @property
    def _arrears_stale(self) -> bool:
        """The arrears line is read on the issue date, but the data stop before it."""
        return bool(self.arrears_on and self.data_as_of and self.data_as_of < self.arrears_on)

    @property
    def says_not_yet_collected(self) -> bool:
        """Whether a sentence of the row ends in 此后信息尚未归集 (the legend explains it)."""
        return self.stale or self._arrears_stale

    @property
    def _arrears_date_text(self) -> str:
        # The data say nothing past their as-of date, so neither does the line.
        if self._arrears_stale:
            return cn_day(self.data_as_of)  # type: ignore[arg-type]
        return wording.ARREARS_ON_ISSUE_DATE.format(day=cn_day(self.arrears_on))  # type: ignore[arg-type]

    @property
    def result_text(self) -> str:
        """The violation half of the result cell (the arrears line is separate)."""
        if self.data_as_of is None and not self.records:
            return NO_DATA_SENTENCE
        if self.stale:
            as_of = cn_day(self.data_as_of)  # type: ignore[arg-type]
            if self.records:
                return wording.STALE_FOUND.format(n=len(self.records), as_of=as_of)
            return wording.STALE_CLEAR.format(as_of=as_of)
        if self.records:
            return f"查见违法违规信息 {len(self.records)} 条（见明细）"
        return NO_RECORD_SENTENCE

    @property
    def data_as_of_text(self) -> str:
        return self.data_as_of.isoformat() if self.data_as_of else NO_DATA_SHORT


@dataclass(frozen=True)
class Section:
    """One enterprise: the requester's own first, then each related enterprise."""

    enterprise_name: str
    uscc: str
    relation: str | None  # RelatedRole label (控股子公司…); None for the enterprise itself
    domains: tuple[DomainResult, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for d in self.domains if d.outcome is outcome)

    @property
    def found_domains(self) -> tuple[DomainResult, ...]:
        return tuple(d for d in self.domains if d.outcome is Outcome.FOUND)

    @property
    def stale_domains(self) -> tuple[DomainResult, ...]:
        return tuple(d for d in self.domains if d.stale)


@dataclass(frozen=True)
class Requester:
    enterprise_name: str
    uscc: str
    applicant: str  # who asked, as printed; may be empty
    channel: str  # Channel label, e.g. 渝快办小程序


@dataclass(frozen=True)
class ReportView:
    report_no: str
    verify_code: str
    verify_url: str
    issued_at: datetime
    requester: Requester
    purpose: str  # ReportPurpose label: 上市挂牌 / 再融资 / 并购重组 / 债券发行
    span_from: date
    span_to: date
    sections: tuple[Section, ...]
    issuer: str = DEFAULT_ISSUER
    rule_set: str = ""  # the rule set line as printed; empty for reports issued before them
    objection_channels: tuple[str, ...] = ()  # Channel labels

    @property
    def has_stale_domains(self) -> bool:
        return any(d.says_not_yet_collected for s in self.sections for d in s.domains)

    @property
    def notes(self) -> tuple[str, ...]:
        """报告说明, in print order: the fixed notes, then the legend of stale domains where
        the report has one, the rule set, and where objections go."""
        notes = list(wording.NOTES)
        if self.has_stale_domains:
            notes.append(wording.STALE_LEGEND)
        if self.rule_set:
            notes.append(self.rule_set)
        channels = "、".join(self.objection_channels)
        notes.append(wording.OBJECTION_NOTE.format(channels=channels, policy=wording.POLICY_NO))
        return tuple(notes)

    def __post_init__(self) -> None:
        if not self.sections:
            raise ValueError("a report has at least one section (the enterprise itself)")

    @property
    def domain_numbers(self) -> tuple[int, ...]:
        """The domains asked for: the main section lists them (related sections share them)."""
        return tuple(d.number for d in self.sections[0].domains)

    @property
    def main(self) -> Section:
        return self.sections[0]

    @property
    def related(self) -> tuple[Section, ...]:
        return self.sections[1:]


class SnapshotError(ValueError):
    """The snapshot does not have the documented shape; the message names the offending key."""


def view_from_snapshot(snapshot: Mapping[str, Any]) -> ReportView:
    """Build the ReportView from a canonical snapshot dict (shape in the module docstring)."""
    requester = _get(snapshot, "requester", Mapping, "requester")
    span = _get(snapshot, "span", Mapping, "span")
    sections = _get(snapshot, "sections", Sequence, "sections")
    view = ReportView(
        report_no=_get(snapshot, "report_no", str, "report_no"),
        verify_code=_get(snapshot, "verify_code", str, "verify_code"),
        verify_url=_get(snapshot, "verify_url", str, "verify_url"),
        issued_at=_datetime(snapshot.get("issued_at"), "issued_at"),
        requester=Requester(
            enterprise_name=_get(requester, "enterprise_name", str, "requester.enterprise_name"),
            uscc=_get(requester, "uscc", str, "requester.uscc"),
            applicant=str(requester.get("applicant") or ""),
            channel=_label(Channel, requester.get("channel"), "requester.channel"),
        ),
        purpose=_label(ReportPurpose, snapshot.get("purpose"), "purpose"),
        span_from=_date(span.get("from"), "span.from"),
        span_to=_date(span.get("to"), "span.to"),
        sections=tuple(
            _section(s, f"sections[{i}]", _date(span.get("to"), "span.to"))
            for i, s in enumerate(sections)
        ),
        issuer=str(snapshot.get("issuer") or DEFAULT_ISSUER),
        rule_set=_rule_set_line(snapshot.get("rule_set")),
        objection_channels=tuple(
            _label(Channel, c, "objection_channels")
            for c in _get(
                snapshot,
                "objection_channels",
                Sequence,
                "objection_channels",
                default=DEFAULT_OBJECTION_CHANNELS,
            )
        ),
    )
    if view.span_from > view.span_to:
        raise SnapshotError("span: 'from' is after 'to'")
    if view.main.relation is not None:
        raise SnapshotError("sections[0]: the enterprise itself comes first, with relation null")
    return view


def _rule_set_line(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, Mapping):
        raise SnapshotError("rule_set: expected an object")
    return wording.RULE_SET_NOTE.format(
        name=_get(raw, "name", str, "rule_set.name"),
        version=_get(raw, "version", int, "rule_set.version"),
        basis=_get(raw, "basis", str, "rule_set.basis"),
        summary=_get(raw, "summary", str, "rule_set.summary"),
    )


def _section(raw: Any, where: str, span_to: date) -> Section:
    if not isinstance(raw, Mapping):
        raise SnapshotError(f"{where}: expected an object")
    relation = raw.get("relation")
    domains = tuple(
        _domain(d, f"{where}.domains[{i}]", span_to)
        for i, d in enumerate(_get(raw, "domains", Sequence, f"{where}.domains"))
    )
    numbers = [d.number for d in domains]
    if numbers != sorted(set(numbers)):
        raise SnapshotError(f"{where}.domains: numbers must be ascending and unique")
    return Section(
        enterprise_name=_get(raw, "enterprise_name", str, f"{where}.enterprise_name"),
        uscc=_get(raw, "uscc", str, f"{where}.uscc"),
        relation=None if relation is None else _label(RelatedRole, relation, f"{where}.relation"),
        domains=domains,
    )


def _domain(raw: Any, where: str, span_to: date) -> DomainResult:
    if not isinstance(raw, Mapping):
        raise SnapshotError(f"{where}: expected an object")
    number = raw.get("number")
    spec = DOMAINS_BY_NUMBER.get(number) if isinstance(number, int) else None
    if spec is None:
        raise SnapshotError(f"{where}.number: {number!r} is not a domain number 1..40")
    raw_records = _get(raw, "records", Sequence, f"{where}.records", default=())
    lines = [(_record(r, f"{where}.records[{i}]"), r) for i, r in enumerate(raw_records)]
    records = [line for line, r in lines if not (spec.checks_arrears and _is_arrears(r))]
    arrears = [line for line, r in lines if spec.checks_arrears and _is_arrears(r)]
    paid: list[RecordLine] = []
    arrears_on = None
    state = raw.get("arrears")
    if state is not None:  # arrears read on the issue date
        if not isinstance(state, Mapping):
            raise SnapshotError(f"{where}.arrears: expected an object")
        arrears_on = _date(state.get("as_of"), f"{where}.arrears.as_of")
        arrears += _lines(state, "outstanding", f"{where}.arrears")
        paid = _lines(state, "paid", f"{where}.arrears", status=PAID)
    as_of = raw.get("data_as_of")
    return DomainResult(
        number=spec.number,
        name=str(raw.get("name") or spec.name),
        check_text=str(raw.get("check_text") or spec.check_text),
        departments=str(raw.get("departments") or department_names(spec)),
        data_as_of=None if as_of is None else _date(as_of, f"{where}.data_as_of"),
        records=tuple(records),
        checks_arrears=spec.checks_arrears,
        arrears=tuple(arrears),
        arrears_paid=tuple(paid),
        arrears_on=arrears_on,
        span_to=span_to,
    )


def _lines(raw: Mapping[str, Any], key: str, where: str, status: str = "") -> list[RecordLine]:
    found = _get(raw, key, Sequence, f"{where}.{key}")
    lines = [_record(r, f"{where}.{key}[{i}]") for i, r in enumerate(found)]
    if status:  # e.g. a repaired arrears record reads 已缴清, unless an objection is open on it
        lines = [replace(line, status=status) if line.status != UNDER_OBJECTION else line
                 for line in lines]  # fmt: skip
    return lines


def _is_arrears(raw: Mapping[str, Any]) -> bool:
    return raw.get("kind") in {k.value for k in ARREARS_KINDS}


def _record(raw: Any, where: str) -> RecordLine:
    if not isinstance(raw, Mapping):
        raise SnapshotError(f"{where}: expected an object")
    procedure = raw.get("procedure")
    kind = _label(RecordKind, raw.get("kind"), f"{where}.kind")
    if procedure is not None and raw.get("kind") == PENALTY:
        _label(PenaltyProcedure, procedure, f"{where}.procedure")  # a known code, or it fails
        kind = PENALTY_KINDS[procedure]
    return RecordLine(
        kind=kind,
        decision_no=_get(raw, "decision_no", str, f"{where}.decision_no"),
        authority=_get(raw, "authority", str, f"{where}.authority"),
        decision_date=_date(raw.get("decision_date"), f"{where}.decision_date"),
        summary=str(raw.get("summary") or ""),
        status=UNDER_OBJECTION
        if raw.get("under_objection")
        else _label(RecordStatus, raw.get("status"), f"{where}.status", free_text=True),
    )


def _get(raw: Mapping[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    value = raw.get(key, default)
    # A str is a Sequence too: a list was meant wherever Sequence is asked for.
    if not isinstance(value, kind) or (kind is Sequence and isinstance(value, str)):
        raise SnapshotError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _label(enum: Any, value: Any, where: str, free_text: bool = False) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        # Codes are ASCII; a Chinese status (e.g. 异议处理中) is taken as already printed, but a
        # mistyped code is not, so it fails here instead of showing up on paper.
        if free_text and isinstance(value, str) and value and not value.isascii():
            return value
        known = ", ".join(m.value for m in enum)
        raise SnapshotError(f"{where}: {value!r} is not one of {known}") from None


def cn_day(value: date) -> str:
    """2026-04-25 -> 2026年4月25日, as dates read in sentences."""
    return f"{value.year}年{value.month}月{value.day}日"


def _date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SnapshotError(f"{where}: expected an ISO date, got {value!r}") from None


def _datetime(value: Any, where: str) -> datetime:
    parsed = value if isinstance(value, datetime) else None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise SnapshotError(f"{where}: expected an ISO datetime, got {value!r}") from None
    if parsed.tzinfo is None:
        raise SnapshotError(f"{where}: the datetime needs an offset, e.g. +08:00")
    return parsed
