"""The render input contract: view_from_snapshot and the fixed wording."""

from __future__ import annotations

from datetime import date

import pytest

from config.catalogue import DOMAINS_BY_NUMBER
from render import wording
from render.view import (
    NO_RECORD_SENTENCE,
    Outcome,
    SnapshotError,
    view_from_snapshot,
)
from tests.test_render_support import POLICY, domain, normalise, record, sample_snapshot, snapshot


def test_the_sample_snapshot_builds_a_view_with_labels_instead_of_codes() -> None:
    view = view_from_snapshot(sample_snapshot())

    assert view.report_no == "YX20250301000123"
    assert view.purpose == "上市挂牌"
    assert view.requester.channel == "渝快办小程序"
    assert view.span_from == date(2022, 3, 1) and view.span_to == date(2025, 2, 28)
    assert [s.relation for s in view.sections] == [None, "控股子公司", "分支机构"]
    assert len(view.domain_numbers) == 40
    first = view.main.found_domains[0]
    assert (first.number, first.records[0].kind, first.records[0].status) == (
        15,
        "行政处罚（普通程序）",
        "已修复",
    )


def test_a_domain_without_data_is_no_data_not_nothing_found() -> None:
    view = view_from_snapshot(snapshot(domains=[domain(1, data_as_of=None), domain(2)]))
    no_data, clear = view.main.domains

    assert no_data.outcome is Outcome.NO_DATA
    assert "暂无数据" in no_data.result_text and "未查见" not in no_data.result_text
    assert no_data.data_as_of_text == "暂无数据"
    assert clear.outcome is Outcome.CLEAR
    assert clear.result_text == NO_RECORD_SENTENCE
    assert clear.data_as_of_text == "2025-02-28"


@pytest.mark.parametrize(
    ("number", "line"),
    [
        (13, "欠缴情况：未查见欠缴社保费用情形"),
        (30, "欠缴情况：未查见欠缴社保费用情形"),
        (36, "欠缴情况：未查见欠缴住房公积金情形"),
        (37, "欠缴情况：未查见欠缴社保费用、税费等情形"),
    ],
)
def test_arrears_domains_carry_their_own_arrears_line(number: int, line: str) -> None:
    result = view_from_snapshot(snapshot(domains=[domain(number)])).main.domains[0]

    assert result.checks_arrears
    assert result.arrears_text == line
    assert result.result_text == NO_RECORD_SENTENCE


def test_arrears_records_go_to_the_arrears_line_and_violations_stay_records() -> None:
    records = [record("arrears_tax"), record("administrative_penalty", n=2)]
    result = view_from_snapshot(snapshot(domains=[domain(37, records=records)])).main.domains[0]

    assert [r.kind for r in result.arrears] == ["欠缴税费"]
    assert [r.kind for r in result.records] == ["行政处罚（普通程序）"]
    assert result.arrears_text == "欠缴情况：查见欠缴信息 1 条（见明细）"
    assert result.outcome is Outcome.FOUND


def test_a_domain_that_checks_no_arrears_has_no_arrears_line() -> None:
    result = view_from_snapshot(snapshot(domains=[domain(27)])).main.domains[0]

    assert not result.checks_arrears and result.arrears_text == ""


def test_an_arrears_domain_without_data_says_no_data_on_its_arrears_line_too() -> None:
    result = view_from_snapshot(snapshot(domains=[domain(13, data_as_of=None)])).main.domains[0]

    assert result.arrears_text == "欠缴情况：暂无数据"


def test_names_and_departments_default_to_the_catalogue() -> None:
    result = view_from_snapshot(snapshot(domains=[domain(38)])).main.domains[0]

    assert result.name == DOMAINS_BY_NUMBER[38].name
    assert result.departments == "人行重庆市分行、外汇局重庆市分局、重庆金融监管局"


def test_a_chinese_status_label_is_printed_as_given() -> None:
    raw = snapshot(domains=[domain(5, records=[record(status="异议处理中")])])

    assert view_from_snapshot(raw).main.domains[0].records[0].status == "异议处理中"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["sections"][0]["domains"][0].update(number=41), "domains[0].number"),
        (lambda s: s.update(purpose="ipo"), "purpose"),
        (lambda s: s.update(issued_at="2025-03-01T09:30:00"), "offset"),
        (lambda s: s["span"].update({"from": "2025-03-01"}), "span"),
        (lambda s: s["sections"][0].update(relation="subsidiary"), "sections[0]"),
        (lambda s: s["sections"][0]["domains"].reverse(), "ascending"),
        (lambda s: s.update(sections=[]), "section"),
    ],
)
def test_a_malformed_snapshot_is_refused_with_the_key_named(change, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = snapshot()
    change(raw)

    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        view_from_snapshot(raw)


def test_a_mistyped_status_code_is_refused_rather_than_printed() -> None:
    raw = snapshot(domains=[domain(5, records=[record(status="repaird")])])

    with pytest.raises(SnapshotError, match="status"):
        view_from_snapshot(raw)


@pytest.mark.parametrize("quote", [wording.SCOPE_QUOTE, wording.USE_QUOTE, wording.OBJECTION_QUOTE])
def test_policy_quotes_are_verbatim_from_the_policy(quote: str) -> None:
    assert normalise(quote) in normalise(POLICY.read_text(encoding="utf-8"))
