"""The catalogue must be the policy annex, row by row."""

import re
from pathlib import Path

import pytest

from cli.configuration import format_domains_table
from config.catalogue import (
    DEPARTMENTS,
    DEPARTMENTS_BY_CODE,
    DOMAINS,
    domains_of_department,
)
from models.catalogue import Department, Domain, DomainOwnership
from services.reports.catalogue import sync_catalogue

POLICY = Path(__file__).parent / "data" / "policy-yufubanfa-2024-89.txt"
ANNEX_ROW = re.compile(r"^(\d{1,2})\t([^\t]+)\t(.+)$")


def annex_rows() -> dict[int, tuple[list[str], str]]:
    rows = {}
    for line in POLICY.read_text(encoding="utf-8").splitlines():
        m = ANNEX_ROW.match(line.strip())
        if m:
            departments = m.group(2).split("、")
            rows[int(m.group(1))] = (departments, re.sub(r"\s+", "", m.group(3)))
    return rows


def test_the_annex_in_the_policy_file_has_exactly_40_rows():
    assert sorted(annex_rows()) == list(range(1, 41))


@pytest.mark.parametrize("spec", DOMAINS, ids=lambda d: f"domain{d.number}")
def test_each_domain_matches_its_annex_row(spec):
    departments, check_text = annex_rows()[spec.number]
    assert spec.check_text == check_text
    assert [DEPARTMENTS_BY_CODE[c].name for c in spec.department_codes] == departments
    assert spec.check_text.startswith(spec.name)


def test_shared_domains_have_two_or_three_departments():
    owners = {d.number: len(d.department_codes) for d in DOMAINS if len(d.department_codes) > 1}
    assert owners == {33: 2, 34: 2, 38: 3}


def test_exactly_domains_13_30_36_37_check_arrears():
    assert {d.number for d in DOMAINS if d.checks_arrears} == {13, 30, 36, 37}
    assert all("欠缴" in d.check_text for d in DOMAINS if d.checks_arrears)
    assert not any("欠缴" in d.check_text for d in DOMAINS if not d.checks_arrears)


def test_every_department_owns_at_least_one_domain_and_codes_are_unique():
    assert len({d.code for d in DEPARTMENTS}) == len(DEPARTMENTS)
    assert len({d.name for d in DEPARTMENTS}) == len(DEPARTMENTS)
    for dept in DEPARTMENTS:
        assert domains_of_department(dept.code), dept
    assert domains_of_department("samr") == (27, 33, 34)


def test_domains_command_prints_40_rows_that_match_the_annex():
    lines = format_domains_table().splitlines()
    body = lines[2:]
    assert len(body) == 40
    rows = annex_rows()
    for line in body:
        number = int(line.split()[0])
        departments, check_text = rows[number]
        assert line.endswith(check_text)
        assert "、".join(departments) in line


async def test_sync_fills_the_tables_and_is_idempotent(db):
    await sync_catalogue()
    await sync_catalogue()
    assert await Domain.all().count() == 40
    assert await Department.all().count() == len(DEPARTMENTS)
    leads = (
        await DomainOwnership.filter(domain_id=38)
        .order_by("lead_order")
        .prefetch_related("department")
    )
    assert [o.department.name for o in leads] == [
        "人行重庆市分行",
        "外汇局重庆市分局",
        "重庆金融监管局",
    ]
    d13 = await Domain.get(number=13)
    assert d13.checks_arrears and d13.name == "人力资源和社会保障"
