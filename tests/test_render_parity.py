"""Every selectable engine prints the same facts for the same snapshot.

The facts come from the one view model: the report number, each enterprise and its USCC, each
domain's result line and arrears line, the records' decision numbers and the notes. The text of
each engine's PDF is extracted and each fact counted in it, so a fact that one engine drops or
garbles (a compatibility ideograph, a cell cut off) fails here.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from render import ENGINES, view_from_snapshot
from render.document import result_lines
from render.pdf import Engine
from render.view import ReportView
from tests.test_render_support import normalise, pdf_page_texts, sample_pdf, sample_snapshot


def facts(view: ReportView) -> Counter[str]:
    """Each fact the report must print, with how many times it appears in the table cells."""
    found: Counter[str] = Counter([view.report_no])
    for section in view.sections:
        found[section.enterprise_name] += 0  # printed in the heading and the index: at least once
        found[section.uscc] += 0
        for domain in section.domains:
            for line in result_lines(domain):
                found["".join(text for text, _ in line)] += 1
            for record in (*domain.records, *domain.arrears, *domain.arrears_paid):
                found[record.decision_no] += 1
    for note in view.notes:
        found[note] += 0
    return Counter({normalise(k): max(v, 1) for k, v in found.items()})


@cache
def engine_text(engine: Engine) -> str:
    return "".join(pdf_page_texts(sample_pdf(engine)))


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_prints_every_fact_of_the_snapshot(engine: Engine) -> None:
    view = view_from_snapshot(sample_snapshot())
    text = engine_text(engine)

    missing = {fact: n for fact, n in facts(view).items() if text.count(fact) < n}

    assert not missing, f"{engine}: facts missing or short: {missing}"


@pytest.mark.parametrize("engine", ["typst", "weasyprint"])
def test_the_domain_lines_are_printed_exactly_as_often_as_the_view_has_them(
    engine: Engine,
) -> None:
    # The result and arrears lines sit only in the tables, once per domain. (wkhtmltopdf draws
    # bold text twice, so its extracted text repeats them: it is held to "at least" above.)
    view = view_from_snapshot(sample_snapshot())
    expected = Counter(
        normalise("".join(text for text, _ in line))
        for section in view.sections
        for domain in section.domains
        for line in result_lines(domain)
    )

    counts = {line: engine_text(engine).count(line) for line in expected}

    assert counts == dict(expected)
    assert sum(counts.values()) > 3 * 40
