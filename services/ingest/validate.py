"""Row validation: what a department may push, field by field, with a Chinese reason for each
refusal. Pure functions of the row (the enterprise lookup, which needs the database, is done by
the caller in bulk)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from config.catalogue import DOMAINS_BY_NUMBER, EARLIEST_DATE
from infra.formula import starts_like_formula
from models.enums import PenaltyProcedure, RecordKind, RecordStatus
from services.identity import is_valid_uscc
from services.ingest.content import ROW_FIELDS, canonical_record_content, sha256_hex
from services.ingest.parse import RawRow, Rejection

# Column widths of the record table: longer values would fail the whole chunk's INSERT.
MAX_LENGTHS = {"source_ref": 64, "decision_no": 64, "authority": 128}
# Cells a spreadsheet would run as a formula (CSV injection). They are refused, not silently
# cleaned: the department must see that its export is unsafe.
FORMULA_CHECKED = ("source_ref", "decision_no", "authority", "summary")
TEXT_FIELDS = tuple(f for f in ROW_FIELDS if f != "domain")
KINDS = frozenset(k.value for k in RecordKind)
STATUSES = frozenset(s.value for s in RecordStatus)
# Control characters other than tab, CR and LF: PostgreSQL refuses NUL in text, and none of
# them belongs in a printed report.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PENALTY = RecordKind.ADMINISTRATIVE_PENALTY.value
# What a department may say for a penalty's procedure: the code or its Chinese name.
PROCEDURES = {
    "ordinary": PenaltyProcedure.ORDINARY.value,
    "普通程序": PenaltyProcedure.ORDINARY.value,
    "simple": PenaltyProcedure.SIMPLE.value,
    "简易程序": PenaltyProcedure.SIMPLE.value,
}
# The domains whose 核查事项 asks about each kind of arrears (附件):
#   13 "有无欠缴社保费用情形", 30 "有无欠缴社保费用情形", 36 "有无欠缴及违法违规信息",
#   37 "有无欠缴社保费用、税费等情形".
# An arrears record anywhere else would be printed as a violation of a domain that never
# asks about arrears.
ARREARS_DOMAINS: dict[str, frozenset[int]] = {
    RecordKind.ARREARS_SOCIAL_INSURANCE.value: frozenset({13, 30, 37}),
    RecordKind.ARREARS_TAX.value: frozenset({37}),
    RecordKind.ARREARS_HOUSING_FUND.value: frozenset({36}),
}

FIELD_LABELS = {
    "uscc": "统一社会信用代码（uscc）",
    "domain": "领域序号（domain）",
    "kind": "记录类别（kind）",
    "decision_no": "决定书文号（decision_no）",
    "authority": "作出决定的机关（authority）",
    "decision_date": "决定日期（decision_date）",
    "summary": "内容摘要（summary）",
    "status": "状态（status）",
    "source_ref": "本部门记录编号（source_ref）",
    "procedure": "处罚程序（procedure）",
    "status_date": "状态变更日期（status_date）",
}

# Every row-level code with a short Chinese description, for quality reports and the docs.
REJECTION_CODES: dict[str, str] = {
    "missing_field": "缺少必填字段",
    "invalid_value": "字段类型不正确",
    "field_too_long": "字段超长",
    "invalid_character": "含有控制字符",
    "formula_injection": "以公式符号开头（疑似 CSV 注入）",
    "invalid_uscc": "统一社会信用代码校验失败",
    "unknown_enterprise": "企业未在平台登记",
    "unknown_domain": "领域序号无效",
    "domain_not_owned": "非本部门负责的领域",
    "unknown_kind": "记录类别无效",
    "kind_not_allowed_in_domain": "该领域不核查此类欠缴信息",
    "missing_procedure": "行政处罚未注明处罚程序",
    "unknown_procedure": "处罚程序无效",
    "status_date_before_decision": "状态变更日期早于决定日期",
    "invalid_date": "决定日期格式无效",
    "date_before_2020": "决定日期早于2020年1月1日",
    "date_in_future": "决定日期晚于当天",
    "unknown_status": "状态无效",
    "row_too_long": "行超长",
    "malformed_json": "JSON 格式错误",
    "wrong_column_count": "CSV 列数不符",
    "invalid_encoding": "编码错误",
    "duplicate_in_batch": "批次内 source_ref 重复",
}


@dataclass(slots=True)
class ValidRow:
    """A row that passed every check; enterprise_id is filled in by the caller's lookup."""

    line: int
    source_ref: str
    uscc: str
    domain: int
    kind: str
    decision_no: str
    authority: str
    decision_date: date
    summary: str
    status: str
    content: str  # canonical JSON (services.ingest.content)
    content_hash: str
    enterprise_id: int = 0
    procedure: str | None = None  # administrative penalties only
    status_date: date | None = None  # when a repair, revocation or other change took effect


class _Reject(Exception):
    def __init__(self, field: str | None, code: str, message: str) -> None:
        self.field, self.code, self.message = field, code, message


class RowValidator:
    """Checks rows for one department on one day. Not thread-safe: one batch, one validator."""

    def __init__(self, department_code: str, owned_domains: frozenset[int], today: date) -> None:
        self.department = department_code
        self.owned = owned_domains
        self.today = today
        self._uscc_cache: dict[str, str | None] = {}
        self._dates: dict[str, date] = {}  # valid decision dates seen, by their text

    def check(self, raw: RawRow) -> ValidRow | Rejection:
        """The row as a ValidRow, or the first reason it is refused."""
        values = raw.values
        ref = values.get("source_ref")
        ref_text = ref.strip() if isinstance(ref, str) else None
        try:
            return self._check(raw.line, values)
        except _Reject as r:
            return Rejection(raw.line, r.field, r.code, r.message, ref_text)

    def _check(self, line: int, values: dict[str, Any]) -> ValidRow:
        get = values.get
        raw = [get(f) for f in TEXT_FIELDS]
        # The common case in bulk, checked all at once; anything odd goes field by field,
        # which names the first field at fault.
        try:
            text = [v.strip(" \u3000") for v in raw]
        except AttributeError:
            text = []
        if len(text) != len(TEXT_FIELDS) or not all(text) or _CONTROL.search("\n".join(text)):
            text = [self._text(f, v) for f, v in zip(TEXT_FIELDS, raw, strict=True)]
        uscc_raw, kind, decision_no, authority, day_text, summary, status, ref = text
        # (Stripping removes spaces only, so a tab or CR that led the raw value still leads.)
        if (
            starts_like_formula(ref)
            or starts_like_formula(decision_no)
            or starts_like_formula(authority)
            or starts_like_formula(summary)
            or len(ref) > MAX_LENGTHS["source_ref"]
            or len(decision_no) > MAX_LENGTHS["decision_no"]
            or len(authority) > MAX_LENGTHS["authority"]
        ):
            for f, v in zip(TEXT_FIELDS, raw, strict=True):
                self._text(f, v)
        uscc = self._uscc(uscc_raw)
        domain = self._domain(get("domain"))
        kind = kind.lower()
        if kind not in KINDS:
            raise _Reject(
                "kind",
                "unknown_kind",
                f"记录类别“{_clip(kind)}”无效，应为：{'、'.join(sorted(KINDS))}",
            )
        allowed = ARREARS_DOMAINS.get(kind)
        if allowed is not None and domain not in allowed:
            raise _Reject(
                "kind",
                "kind_not_allowed_in_domain",
                f"第 {domain} 号领域（{DOMAINS_BY_NUMBER[domain].name}）不核查"
                f"“{RecordKind(kind).label}”，欠缴信息只能推送至第"
                f" {'、'.join(str(n) for n in sorted(allowed))} 号领域",
            )
        procedure = self._procedure(values.get("procedure")) if kind == PENALTY else None
        day = self._dates.get(day_text) or self._date(day_text, "decision_date", "决定日期")
        status = status.lower()
        if status not in STATUSES:
            raise _Reject(
                "status",
                "unknown_status",
                f"状态“{_clip(status)}”无效，"
                "应为 in_force（有效）、repaired（已修复）或 revoked（已撤销）",
            )
        status_date = self._status_date(values.get("status_date"), day)
        content = canonical_record_content(
            self.department, ref, uscc, domain, kind, decision_no, authority, day_text,
            summary, status, procedure, status_date.isoformat() if status_date else None,
        )  # fmt: skip
        return ValidRow(
            line, ref, uscc, domain, kind, decision_no, authority, day, summary, status,
            content, sha256_hex(content), procedure=procedure, status_date=status_date,
        )  # fmt: skip

    def _status_date(self, value: Any, decided: date) -> date | None:
        """Optional: the day a status change (修复、撤销) took effect, which its push is timed
        from under the 7-working-day rule."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise _Reject("status_date", "invalid_value", f"{FIELD_LABELS['status_date']} 应为文本")
        day = self._date(value.strip(), "status_date", "状态变更日期")
        if day < decided:
            raise _Reject(
                "status_date",
                "status_date_before_decision",
                f"状态变更日期 {value.strip()} 早于决定日期 {decided.isoformat()}，请核对",
            )
        return day

    @staticmethod
    def _procedure(value: Any) -> str:
        text = value.strip(" \u3000").lower() if isinstance(value, str) else value
        if text is None or text == "":
            raise _Reject(
                "procedure",
                "missing_procedure",
                "行政处罚须注明处罚程序 procedure：ordinary（普通程序）或 simple（简易程序）",
            )
        if text not in PROCEDURES:
            raise _Reject(
                "procedure",
                "unknown_procedure",
                f"处罚程序“{_clip(str(text))}”无效，应为 ordinary（普通程序）或 simple（简易程序）",
            )
        return PROCEDURES[text]

    def _text(self, field: str, value: Any) -> str:
        if value is None:
            raise _Reject(field, "missing_field", f"缺少必填字段 {FIELD_LABELS[field]}")
        if not isinstance(value, str):
            raise _Reject(field, "invalid_value", f"{FIELD_LABELS[field]} 应为文本")
        stripped = value.strip(" \u3000")
        if not stripped:
            raise _Reject(field, "missing_field", f"必填字段 {FIELD_LABELS[field]} 为空")
        if field in FORMULA_CHECKED and starts_like_formula(stripped):
            raise _Reject(
                field,
                "formula_injection",
                f"{FIELD_LABELS[field]} 以 = + - @ 或制表符、回车开头，可能被电子表格当作公式执行，"
                "已拒收；请修正源数据后重新推送",
            )
        if _CONTROL.search(stripped):
            raise _Reject(field, "invalid_character", f"{FIELD_LABELS[field]} 含有不允许的控制字符")
        limit = MAX_LENGTHS.get(field)
        if limit is not None and len(stripped) > limit:
            raise _Reject(field, "field_too_long", f"{FIELD_LABELS[field]} 超过 {limit} 个字符")
        return stripped

    def _uscc(self, value: str) -> str:
        cached = self._uscc_cache.get(value, "")
        if cached == "":
            compact = value.replace(" ", "").replace("-", "").upper()
            cached = compact if len(compact) == 18 and is_valid_uscc(compact) else None
            self._uscc_cache[value] = cached
        if cached is None:
            raise _Reject(
                "uscc", "invalid_uscc", "统一社会信用代码无效（应为18位，且校验码正确），请核对"
            )
        return cached

    def _domain(self, value: Any) -> int:
        if value is None or value == "":
            raise _Reject("domain", "missing_field", f"缺少必填字段 {FIELD_LABELS['domain']}")
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
            number = int(value.strip())
        if number is None or number not in DOMAINS_BY_NUMBER:
            raise _Reject(
                "domain", "unknown_domain", "领域序号无效，应为 1 至 40 的整数（见附件目录）"
            )
        if number not in self.owned:
            name = DOMAINS_BY_NUMBER[number].name
            raise _Reject(
                "domain",
                "domain_not_owned",
                f"本部门不是第 {number} 号领域（{name}）的责任部门，无权推送该领域的记录",
            )
        return number

    def _date(self, value: str, field: str, label: str) -> date:
        if not _ISO_DATE.fullmatch(value):
            raise _Reject(field, "invalid_date", f"{label}应为 YYYY-MM-DD 格式，如 2024-03-15")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise _Reject(field, "invalid_date", f"{label} {value} 不是有效日期") from None
        if day < EARLIEST_DATE:
            raise _Reject(
                field,
                "date_before_2020",
                f"{label} {value} 早于 {EARLIEST_DATE.isoformat()}，不在归集范围内",
            )
        if day > self.today:
            raise _Reject(field, "date_in_future", f"{label} {value} 晚于今天，请核对")
        if field == "decision_date":
            self._dates[value] = day
        return day


def duplicate_rejection(row: ValidRow, first_line: int) -> Rejection:
    return Rejection(
        row.line,
        "source_ref",
        "duplicate_in_batch",
        f"本批次中 source_ref“{row.source_ref}”已在第 {first_line} 行出现，"
        "以首次出现的为准，本行未处理",
        row.source_ref,
    )


def unknown_enterprise(row: ValidRow) -> Rejection:
    return Rejection(
        row.line,
        "uscc",
        "unknown_enterprise",
        f"平台未登记统一社会信用代码为 {row.uscc} 的企业",
        row.source_ref,
    )


def _clip(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
