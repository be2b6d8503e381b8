"""The HTML report: escaping, the result wording, arrears lines, index, QR."""

from __future__ import annotations

import base64
import re

from render import render_html, view_from_snapshot
from render.html import cn_numeral
from render.view import NO_RECORD_SENTENCE
from tests.test_render_support import domain, record, sample_snapshot, snapshot

EVIL = "<script>alert('x')</script>&<img src=http://evil.example/x.png>\"'"


def test_a_malicious_enterprise_name_and_summary_are_escaped() -> None:
    raw = snapshot(name=EVIL, domains=[domain(1, records=[record(summary=EVIL)])])

    html = render_html(view_from_snapshot(raw))

    assert "<script>" not in html and "<img src=http" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&lt;img" in html
    assert html.count("&lt;script&gt;") >= 3  # meta table, section heading, summary


def test_no_data_and_nothing_found_read_differently() -> None:
    raw = snapshot(domains=[domain(1, data_as_of=None), domain(2)])

    html = render_html(view_from_snapshot(raw))

    assert NO_RECORD_SENTENCE in html
    assert "暂无数据：出证机关尚未报送该领域数据" in html
    assert 'class="no_data"' in html and 'class="clear"' in html


def test_the_arrears_lines_of_13_30_36_37_are_shown() -> None:
    raw = snapshot(domains=[domain(n) for n in (12, 13, 30, 36, 37)])

    html = render_html(view_from_snapshot(raw))

    assert html.count("欠缴情况：") == 4
    assert "欠缴情况：未查见欠缴社保费用情形" in html
    assert "欠缴情况：未查见欠缴住房公积金情形" in html
    assert "欠缴情况：未查见欠缴社保费用、税费等情形" in html


def test_records_are_listed_with_status_in_the_detail_table() -> None:
    raw = snapshot(domains=[domain(27, records=[record(status="repaired"), record(n=2)])])

    html = render_html(view_from_snapshot(raw))

    assert "查见违法违规信息 2 条（见明细）" in html
    assert "27-1" in html and "27-2" in html
    assert "已修复" in html and "有效" in html


def test_the_index_appears_only_with_related_enterprises() -> None:
    assert "目录" not in render_html(view_from_snapshot(snapshot()))

    html = render_html(view_from_snapshot(sample_snapshot()))

    assert "目录" in html
    assert re.findall(r'href="#(s\d)"', html) == ["s1", "s2", "s3"]
    assert "（关联企业：控股子公司）" in html and "（关联企业：分支机构）" in html


def test_the_html_is_self_contained_with_an_inline_svg_qr() -> None:
    html = render_html(view_from_snapshot(snapshot()))

    match = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert match, html[:2000]
    assert base64.b64decode(match.group(1)).startswith(b"<svg")
    assert "https://credit.cq.example/verify/YX20250301000007?c=ABCD23" in html
    assert not re.search(r'(src|href)="(https?|file):', html)


def test_the_policy_scope_and_basis_are_quoted() -> None:
    html = render_html(view_from_snapshot(snapshot()))

    assert "渝府办发〔2024〕89号" in html
    assert "本实施方案所称的违法违规信息" in html
    assert "债券发行" in html  # the purpose label


def test_section_numbers_are_chinese_numerals() -> None:
    numerals = [cn_numeral(n) for n in (1, 9, 10, 11, 20, 42)]

    assert numerals == ["一", "九", "十", "十一", "二十", "四十二"]
