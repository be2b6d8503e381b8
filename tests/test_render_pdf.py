"""The PDF: searchable text, page footers, a QR code that decodes at print size, every engine.

Typst (the default) and WeasyPrint share the layout tests; wkhtmltopdf has no running footer and
is held to searchable text (tests/test_render_parity.py holds every engine to the same facts).
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader

from render import RenderError, render_html, render_pdf, report_pdf, view_from_snapshot
from render.document import report_document
from render.pdf import ISSUER_LABEL, Engine
from render.typst_engine import compile_typst_with_metadata
from tests.test_render_support import (
    ALL_DOMAIN_NAMES,
    COMPAT_RE,
    decode_qr,
    long_pdf,
    long_snapshot,
    normalise,
    pdf_page_image,
    pdf_page_texts,
    sample_pdf,
    sample_snapshot,
    snapshot,
)

LAID_OUT: tuple[Engine, ...] = ("typst", "weasyprint")  # the engines with header and footer
laid_out = pytest.mark.parametrize("engine", LAID_OUT)


@laid_out
def test_text_has_the_enterprise_report_number_footer_and_every_domain(engine: Engine) -> None:
    pages = pdf_page_texts(sample_pdf(engine))
    text = "".join(pages)

    assert "重庆渝信智造科技股份有限公司" in text
    assert "YX20250301000123" in text
    assert pages[0].startswith("专项信用报告（上市版）") or "专项信用报告（上市版）" in pages[0]
    assert "第1页共" in pages[0]
    missing = [name for name in ALL_DOMAIN_NAMES if normalise(name) not in text]
    assert not missing, f"domain names not searchable: {missing}"


@laid_out
def test_text_has_no_compatibility_ideographs(engine: Engine) -> None:
    text = "".join(pdf_page_texts(sample_pdf(engine)))

    assert not COMPAT_RE.findall(text), sorted(set(COMPAT_RE.findall(text)))
    assert "用" in text  # the character that turns into ⽤ when the ToUnicode map is wrong


@laid_out
def test_no_data_and_arrears_lines_reach_the_pdf(engine: Engine) -> None:
    text = "".join(pdf_page_texts(sample_pdf(engine)))

    assert "暂无数据：出证机关尚未报送该领域数据" in text
    assert "经查询，报告期内未查见该领域违法违规信息" in text
    assert "欠缴情况：未查见欠缴社保费用情形" in text
    assert "欠缴情况：查见欠缴信息1条（见明细）" in text


@laid_out
def test_a_long_report_has_several_pages_each_with_its_footer(engine: Engine) -> None:
    pages = pdf_page_texts(long_pdf(engine))
    total = len(pages)

    assert total > 1
    for number, text in enumerate(pages, start=1):
        assert f"第{number}页共{total}页" in text, f"page {number}: {text[-80:]}"
    # The running header carries the report number from page 2 on.
    assert all("报告编号：YX20250301000007" in t for t in pages[1:])


@laid_out
def test_the_pdf_is_a4(engine: Engine) -> None:
    page = PdfReader(io.BytesIO(sample_pdf(engine))).pages[0]

    width_mm, height_mm = (float(v) * 25.4 / 72 for v in page.mediabox.upper_right)
    assert round(width_mm) == 210 and round(height_mm) == 297


@laid_out
def test_the_printed_qr_code_decodes_to_the_verify_url_at_150_dpi(engine: Engine) -> None:
    image = pdf_page_image(sample_pdf(engine), page=1, dpi=150)

    assert decode_qr(image) == ["https://credit.cq.example/verify/YX20250301000123?c=K7Q2MX"]


def test_wkhtmltopdf_text_is_searchable_with_wenquanyi_first() -> None:
    html = render_html(view_from_snapshot(sample_snapshot()))

    pdf = render_pdf(html, engine="wkhtmltopdf")
    text = "".join(pdf_page_texts(pdf))

    assert "重庆渝信智造科技股份有限公司" in text
    assert "YX20250301000123" in text
    missing = [name for name in ALL_DOMAIN_NAMES if normalise(name) not in text]
    assert not missing, f"domain names not searchable: {missing}"
    assert not COMPAT_RE.findall(text), sorted(set(COMPAT_RE.findall(text)))


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="weasyprint"):
        render_pdf("<p>x</p>", engine="chrome")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="typst"):
        report_pdf(view_from_snapshot(snapshot()), engine="chrome")  # type: ignore[arg-type]


def test_typst_metadata_comes_from_the_document_just_compiled_and_a_missing_label_is_none():
    first = report_document(view_from_snapshot(snapshot()))
    longer = report_document(view_from_snapshot(long_snapshot()))

    pdf, at = compile_typst_with_metadata("report.typ", first, ISSUER_LABEL)
    _, at_longer = compile_typst_with_metadata("report.typ", longer, ISSUER_LABEL)
    _, again = compile_typst_with_metadata("report.typ", first, ISSUER_LABEL)

    assert at["page"] == len(PdfReader(io.BytesIO(pdf)).pages)
    assert at_longer["page"] > at["page"] and again == at
    assert compile_typst_with_metadata("report.typ", first, "no-such-label")[1] is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.png", "file:///etc/passwd"])
def test_weasyprint_fetches_nothing_but_data_uris(url: str) -> None:
    with pytest.raises(RenderError, match="data: URI"):
        render_pdf(f'<html><body><img src="{url}"></body></html>')


@laid_out
def test_a_plain_report_fits_three_pages_and_renders_byte_for_byte_the_same(
    engine: Engine,
) -> None:
    view = view_from_snapshot(snapshot())

    pdf = report_pdf(view, engine)

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) <= 3
    # Dated by issued_at, not by the clock: the same snapshot gives the same (unsealed) PDF.
    assert reader.metadata is not None
    created = reader.metadata["/CreationDate"]
    assert created in ("D:20250301093000+08'00", "D:20250301013000Z", "D:20250301013000+00'00")
    assert report_pdf(view, engine) == pdf


@laid_out
def test_threads_can_render_at_once_and_no_report_leaks_into_another(engine: Engine) -> None:
    # Typst: one warm compiler per thread; WeasyPrint: one font configuration per thread.
    names = [f"重庆并发测试{i}有限公司" for i in range(8)]
    views = [view_from_snapshot(snapshot(name=n)) for n in names]

    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda v: report_pdf(v, engine), views))

    for name, pdf in zip(names, pdfs, strict=True):
        text = "".join(pdf_page_texts(pdf))
        assert name in text
        assert all(normalise(n) in text for n in ALL_DOMAIN_NAMES)
        assert [n for n in names if n in text] == [name]


def test_no_table_row_is_split_across_pages() -> None:
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import TableRowGroupBox

    # Layout boxes, not PDF text: a split row is one <tr> element with boxes on two pages.
    # (Header rows repeat on every page by design, so only body rows count.)
    document = HTML(string=render_html(view_from_snapshot(long_snapshot()))).render()
    pages_of_row: dict[int, set[int]] = {}
    for number, page in enumerate(document.pages):
        for group in page._page_box.descendants():  # WeasyPrint has no public box API
            if isinstance(group, TableRowGroupBox) and not group.is_header:
                for row in group.children:
                    pages_of_row.setdefault(id(row.element), set()).add(number)

    assert len(document.pages) > 3 and len(pages_of_row) > 150
    split = [pages for pages in pages_of_row.values() if len(pages) > 1]
    assert not split, f"{len(split)} rows split across pages"


def test_typst_keeps_every_record_row_on_one_page() -> None:
    # Each record's summary is 长摘要。 twelve times over several lines of its cell: a row split
    # across pages would leave part of those lines on each of two pages.
    pages = pdf_page_texts(long_pdf("typst"))

    assert len(pages) > 3
    counts = [text.count("长摘要。") for text in pages]
    assert sum(counts) == 40 * 3 * 12
    assert all(c % 12 == 0 for c in counts), counts
    # The records table's header repeats on every page it runs over.
    header = "决定文书号/作出机关/日期"
    assert sum(header in text for text in pages) == sum(c > 0 for c in counts)
