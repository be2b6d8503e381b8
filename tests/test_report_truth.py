"""The report says only what the data support: arrears on the issue date, relations seen from
the subject, stale domains, penalty procedures under a named rule set, and real channels."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.dialogs.verify import result_text
from config.catalogue import DOMAINS_BY_NUMBER
from config.rule_sets import CQ_2024_89, NDRC_2025_565, rule_set, rule_set_of_snapshot
from config.settings import Settings, served_channels
from models.catalogue import Department
from models.enterprise import Enterprise, EnterpriseRelation
from models.enums import RecordKind, RecordStatus, RelatedRole, RelationKind, related_role
from models.record import Record
from models.report import Report
from render import render_card, render_html, view_from_snapshot
from render.card import found_line, stale_line
from render.view import DomainResult
from services.reports.issuing import ReportRequest, issue, request_report
from services.reports.rendering import make_renderer
from services.reports.signing import SnapshotSigner
from services.reports.snapshot import assemble_sections, related_enterprises
from services.reports.span import Span
from services.reports.verification import verify_report
from tests.test_render_support import domain, record, snapshot
from tests.test_reports import USCC, valid_uscc

ISSUED = date(2026, 12, 7)
SPAN = Span(date(2024, 1, 1), date(2026, 12, 6))
DATA = Path(__file__).resolve().parent / "data"


async def _enterprise(uscc: str = USCC, name: str = "重庆渝信示范科技股份有限公司") -> Enterprise:
    return await Enterprise.create(
        uscc=uscc, name=name, legal_rep_name="张三", legal_rep_id_hash="h", district="渝中区"
    )


async def _record(
    ent: Enterprise, domain_id: int, kind: RecordKind, day: date, ref: str,
    status: RecordStatus = RecordStatus.IN_FORCE, procedure: str | None = None,
    department: str = "hrss",
) -> Record:  # fmt: skip
    return await Record.create(
        enterprise=ent, domain_id=domain_id, department=await Department.get(code=department),
        source_ref=ref, kind=kind, decision_no=f"渝测〔{day.year}〕{ref}号",
        authority="重庆市某某局", decision_date=day, summary="欠缴12,000元",
        status=status, procedure=procedure, content_hash="x", pushed_at=datetime.now(UTC),
    )  # fmt: skip


async def _main_domain(ent: Enterprise, number: int, rules: Any = CQ_2024_89) -> dict[str, Any]:
    # The department pushed on the issue date: its data reach the issue date.
    sections = await assemble_sections(ent, [], [number], SPAN, {number: ISSUED}, rules, ISSUED)
    return dict(sections[0]["domains"][0])


def _view_domain(raw: dict[str, Any], span_to: str = "2026-12-06") -> DomainResult:
    snap = snapshot(domains=[raw])
    snap["span"] = {"from": "2024-01-01", "to": span_to}
    return view_from_snapshot(snap).main.domains[0]


# -- 1. arrears as a state on the issue date ----------------------------------------------------


async def test_arrears_decided_before_the_span_and_still_owed_are_reported(db):
    ent = await _enterprise()
    await _record(ent, 13, RecordKind.ARREARS_SOCIAL_INSURANCE, date(2022, 11, 1), "A-1")
    raw = await _main_domain(ent, 13)
    assert raw["records"] == []
    assert [r["decision_date"] for r in raw["arrears"]["outstanding"]] == ["2022-11-01"]
    line = _view_domain(raw).arrears_text
    assert (
        line == "欠缴情况：截至出具日（2026年12月7日）查见尚未缴清的欠缴社保费用信息 1 条（见明细）"
    )
    assert "未查见" not in line


async def test_arrears_paid_since_are_listed_apart_and_paid_ones_before_the_span_are_not(db):
    ent = await _enterprise()
    await _record(ent, 37, RecordKind.ARREARS_TAX, date(2024, 5, 1), "T-1", RecordStatus.REPAIRED,
                  department="tax")  # fmt: skip
    await _record(ent, 37, RecordKind.ARREARS_TAX, date(2021, 5, 1), "T-2", RecordStatus.REPAIRED,
                  department="tax")  # fmt: skip
    raw = await _main_domain(ent, 37)
    assert raw["arrears"]["outstanding"] == []
    assert [r["decision_no"] for r in raw["arrears"]["paid"]] == ["渝测〔2024〕T-1号"]
    result = _view_domain(raw)
    assert result.arrears_text == (
        "欠缴情况：截至出具日（2026年12月7日）未查见欠缴社保费用、税费等情形；"
        "报告期内另有欠缴信息 1 条，已于出具前缴清（见明细）"
    )
    assert [r.status for r in result.arrears_paid] == ["已缴清"]


async def test_no_arrears_reads_clear_on_the_issue_date(db):
    raw = await _main_domain(await _enterprise(), 36)
    assert _view_domain(raw).arrears_text == (
        "欠缴情况：截至出具日（2026年12月7日）未查见欠缴住房公积金情形"
    )


def test_the_card_counts_owed_and_paid_arrears_apart():
    raw = domain(37, data_as_of="2026-12-07")
    raw["arrears"] = {
        "as_of": "2026-12-07",
        "outstanding": [record("arrears_tax", n=1)],
        "paid": [record("arrears_tax", status="repaired", n=2)],
    }
    line = found_line(_view_domain(raw))
    assert line.endswith("尚未缴清的欠缴信息 1 条，报告期内已缴清的欠缴信息 1 条")


def test_arrears_on_data_older_than_the_issue_date_name_the_data_date():
    raw = domain(13, data_as_of="2026-11-30")
    raw["arrears"] = {"as_of": "2026-12-07", "outstanding": [], "paid": []}
    assert _view_domain(raw).arrears_text == (
        "欠缴情况：截至2026年11月30日未查见欠缴社保费用情形；此后信息尚未归集"
    )


# -- 2. relations seen from the subject ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "from_parent", "from_child"),
    [
        (RelationKind.SUBSIDIARY, "控股子公司", "控股股东"),
        (RelationKind.CONTROLLING_SHAREHOLDER, "控股子公司", "控股股东"),
        (RelationKind.BRANCH, "分支机构", "总公司（隶属企业）"),
    ],
)
async def test_every_relation_kind_reads_right_from_both_ends(db, kind, from_parent, from_child):
    group = await _enterprise(valid_uscc("91500000MA5U0GRP0"), "重庆集团有限公司")
    member = await _enterprise(valid_uscc("91500000MA5U0MEM0"), "重庆成员有限公司")
    await EnterpriseRelation.create(parent=group, child=member, kind=kind)
    assert related_role(kind, subject_is_parent=True).label == from_parent
    assert related_role(kind, subject_is_parent=False).label == from_child
    [(seen, role)] = await related_enterprises(group)
    assert seen.id == member.id and role.label == from_parent
    [(seen, role)] = await related_enterprises(member)
    assert seen.id == group.id and role.label == from_child


async def test_a_subsidiary_stored_as_controlling_shareholder_is_printed_as_a_subsidiary(db):
    group = await _enterprise(valid_uscc("91500000MA5U0GRP0"), "重庆集团有限公司")
    member = await _enterprise(valid_uscc("91500000MA5U0MEM0"), "重庆集团股份有限公司")
    await EnterpriseRelation.create(
        parent=group, child=member, kind=RelationKind.CONTROLLING_SHAREHOLDER
    )
    related = await related_enterprises(group)
    sections = await assemble_sections(group, related, [1], SPAN, {1: SPAN.end}, CQ_2024_89,
                                       ISSUED)  # fmt: skip
    snap = snapshot(name=group.name, related=sections[1:])
    html = render_html(view_from_snapshot(snap))
    assert '重庆集团股份有限公司<span class="relation">（关联企业：控股子公司）' in html
    assert "控股股东" not in html


def test_the_count_of_enterprises_includes_the_enterprise_itself():
    related = [
        {"enterprise_name": f"重庆关联{i}有限公司", "uscc": f"91500000MA5U00000{i}",
         "relation": RelatedRole.SUBSIDIARY.value, "domains": [domain(1)]}
        for i in range(5)
    ]  # fmt: skip
    html = render_html(view_from_snapshot(snapshot(domains=[domain(1)], related=related)))
    assert "本企业及关联企业 6 家" in html


# -- 4. stale domains ---------------------------------------------------------------------------


def test_a_stale_domain_says_up_to_when_it_looked():
    result = _view_domain(domain(38, data_as_of="2026-04-25"))
    assert result.stale
    assert result.result_text == (
        "经查询，截至2026年4月25日未查见该领域报告期内违法违规信息；此后信息尚未归集"
    )
    fresh = _view_domain(domain(38, data_as_of="2026-12-06"))
    assert not fresh.stale and fresh.result_text == "经查询，报告期内未查见该领域违法违规信息"
    no_data = _view_domain(domain(38, data_as_of=None))
    assert not no_data.stale and no_data.result_text.startswith("暂无数据")


def test_a_stale_domain_is_explained_on_the_pdf_the_card_and_in_the_notes():
    snap = snapshot(
        domains=[domain(1, data_as_of="2026-12-06"), domain(38, data_as_of="2026-04-25")]
    )
    snap["span"] = {"from": "2024-01-01", "to": "2026-12-06"}
    view = view_from_snapshot(snap)
    html = render_html(view)
    assert "截至2026年4月25日未查见该领域报告期内违法违规信息；此后信息尚未归集" in html
    assert any("此后信息尚未归集”指" in n for n in view.notes)
    assert stale_line(view.main.stale_domains) == (
        "数据未覆盖至报告期末（所列日期以后的信息尚未归集，不作结论）："
        f"38 {DOMAINS_BY_NUMBER[38].name}（截至2026年4月25日）"
    )
    assert render_card(view)[:8] == b"\x89PNG\r\n\x1a\n"


# -- 5. penalty procedure and rule sets ---------------------------------------------------------


async def _penalties(db: Any) -> Enterprise:
    ent = await _enterprise()
    for ref, procedure in (("P-1", "ordinary"), ("P-2", "simple"), ("P-3", "unstated")):
        await _record(ent, 27, RecordKind.ADMINISTRATIVE_PENALTY, date(2025, 3, 1), ref,
                      procedure=procedure, department="samr")  # fmt: skip
    return ent


async def test_cq_2024_89_lists_ordinary_penalties_and_marks_unstated_ones(db):
    raw = await _main_domain(await _penalties(db), 27, CQ_2024_89)
    assert [r["procedure"] for r in raw["records"]] == ["ordinary", "unstated"]
    kinds = [r.kind for r in _view_domain(raw).records]
    assert kinds == ["行政处罚（普通程序）", "行政处罚（未注明程序）"]


async def test_ndrc_2025_565_lists_simple_penalties_too_labelled_as_such(db):
    raw = await _main_domain(await _penalties(db), 27, NDRC_2025_565)
    kinds = [r.kind for r in _view_domain(raw).records]
    assert kinds == ["行政处罚（普通程序）", "行政处罚（简易程序）", "行政处罚（未注明程序）"]


def test_rule_sets_are_named_and_versioned_and_unknown_ones_are_refused():
    assert rule_set("cq-2024-89") is CQ_2024_89 and CQ_2024_89.version == 1
    assert rule_set("ndrc-2025-565") is NDRC_2025_565
    assert Settings().report_rule_set == "cq-2024-89"
    with pytest.raises(ValueError, match="cq-2024-89"):
        rule_set("cq-2024-90")
    assert rule_set_of_snapshot({}).name == ""  # issued before rule sets


async def _issue(settings: Settings, redis: Redis) -> Report:
    report = await request_report(redis, ReportRequest(uscc=USCC, domains=[13, 27],
                                                       start="2024-01-01"))  # fmt: skip
    return await issue(
        report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
        data_as_of=_fresh, renderer=make_renderer(settings.pki_dir),
    )  # fmt: skip


async def _fresh(domains: Any) -> dict[int, date | None]:
    from config import clock

    return {d: clock.today() for d in domains}


async def test_the_rule_set_is_signed_into_the_snapshot_and_printed(settings, db, redis):
    await _penalties(db)
    chosen = replace(settings, report_rule_set="ndrc-2025-565")
    report = await _issue(chosen, redis)
    assert report.snapshot["rule_set"]["name"] == "ndrc-2025-565"
    view = view_from_snapshot(report.snapshot)
    assert view.rule_set.startswith(
        "本报告适用报告规则 ndrc-2025-565（第1版，依据发改财金〔2025〕565号）"
    )
    assert view.rule_set in render_html(view)
    result = await verify_report(report.number, report.verify_code,
                                 SnapshotSigner(settings.report_signing_key))  # fmt: skip
    assert result["genuine"] and not result["data_changed"]
    assert result["rule_set"] == view.rule_set
    assert "报告规则：ndrc-2025-565（第1版）" in result_text(result).splitlines()


async def test_the_verify_page_says_what_the_report_says_of_arrears_owed(settings, db, redis):
    ent = await _enterprise()
    await _record(ent, 13, RecordKind.ARREARS_SOCIAL_INSURANCE, date(2022, 11, 1), "A-1")
    report = await _issue(settings, redis)  # a span from 2024-01-01: the arrears predate it
    owed = view_from_snapshot(report.snapshot).main.domains[0].arrears_text
    assert "查见尚未缴清的欠缴社保费用信息 1 条" in owed

    result = await verify_report(report.number, report.verify_code,
                                 SnapshotSigner(settings.report_signing_key))  # fmt: skip
    domain13 = next(d for d in result["sections"][0]["domains"] if d["number"] == 13)
    assert domain13["found"] == 1 and owed in domain13["summary"]
    assert "未查见欠缴" not in domain13["summary"]


async def test_the_verify_page_and_the_bot_say_what_the_report_says_of_a_stale_domain(
    settings, db, redis
):
    await _enterprise()
    report = await request_report(redis, ReportRequest(uscc=USCC, domains=[13, 38],
                                                       start="2024-01-01"))  # fmt: skip

    async def stale(domains: Any) -> dict[int, date | None]:
        return {13: report.span_to, 38: date(2026, 4, 25)}

    report = await issue(
        report, settings=settings, signer=SnapshotSigner(settings.report_signing_key),
        data_as_of=stale, renderer=make_renderer(settings.pki_dir),
    )  # fmt: skip
    printed = view_from_snapshot(report.snapshot).main.domains[1].result_text
    assert printed.startswith("经查询，截至2026年4月25日未查见")
    result = await verify_report(report.number, report.verify_code,
                                 SnapshotSigner(settings.report_signing_key))  # fmt: skip
    assert [(d["number"], d["result"]) for d in result["stale_domains"]] == [(38, printed)]
    assert result["stale_legend"] in view_from_snapshot(report.snapshot).notes
    chat = result_text(result)
    assert "数据截至日早于报告期末的领域：第 38 领域。" in chat and result["stale_legend"] in chat


# -- 7. notes name only the channels served ------------------------------------------------------


def test_the_objection_note_names_the_channels_served_and_no_website():
    view = view_from_snapshot({**snapshot(), "objection_channels": ["miniprogram", "bot", "hall"]})
    note = view.notes[-1]
    assert "渝快办小程序、信用重庆公众号、政务服务大厅窗口" in note
    assert "信用中国（重庆）" not in render_html(view)
    with_web = view_from_snapshot({**snapshot(), "objection_channels": ["web", "miniprogram"]})
    assert "信用中国（重庆）网站、渝快办小程序" in with_web.notes[-1]


def test_the_web_site_is_named_only_while_it_is_switched_on(settings):
    assert served_channels(settings) == ("web", "miniprogram", "bot", "hall")
    assert served_channels(replace(settings, web_enabled=False)) == ("miniprogram", "bot", "hall")


async def test_an_issued_report_names_the_deployments_channels(settings, db, redis):
    await _enterprise()
    report = await _issue(replace(settings, channels="miniprogram,hall"), redis)
    assert report.snapshot["objection_channels"] == ["miniprogram", "hall"]
    assert (
        "可通过渝快办小程序、政务服务大厅窗口提出申请"
        in view_from_snapshot(report.snapshot).notes[-1]
    )


# -- reports issued before these rules still verify ---------------------------------------------


async def test_a_report_issued_before_rule_sets_still_verifies_unchanged(settings, db):
    fixture = json.loads((DATA / "legacy_report.json").read_text(encoding="utf-8"))
    ent = await _enterprise(fixture["snapshot"]["sections"][0]["uscc"])
    # The data it was issued on: an arrears record from before its span (which it did not show).
    await _record(ent, 13, RecordKind.ARREARS_SOCIAL_INSURANCE, date(2022, 11, 1), "A-1")
    await _record(ent, 13, RecordKind.ADMINISTRATIVE_PENALTY, date(2025, 3, 1), "P-1",
                  procedure="unstated")  # fmt: skip
    report = await Report.create(
        number=fixture["snapshot"]["report_no"], verify_code=fixture["snapshot"]["verify_code"],
        enterprise=ent, related_enterprise_ids=[], domains=[13], span_from=date(2024, 1, 1),
        span_to=date(2026, 11, 20), purpose="listing", channel="hall", status="ready",
        snapshot=fixture["snapshot"], snapshot_sha256=fixture["sha256"],
        signature=fixture["signature"], pdf_sha256="0" * 64,
    )  # fmt: skip
    result = await verify_report(report.number, report.verify_code,
                                 SnapshotSigner(fixture["signing_key"]))  # fmt: skip
    assert result["genuine"] and not result["data_changed"], result
    assert result["rule_set"] == ""
    view = view_from_snapshot(fixture["snapshot"])
    assert view.main.domains[0].arrears_text == "欠缴情况：未查见欠缴社保费用情形"
    assert [r.kind for r in view.main.domains[0].records] == ["行政处罚（普通程序）"]
