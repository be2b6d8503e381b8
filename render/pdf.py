"""ReportView -> PDF bytes: Typst (the default), WeasyPrint, or wkhtmltopdf through pdfkit.

`report_pdf(view, engine)` is the one entry point for a report: Typst lays out the view's data
(render/document.py, render/typst_engine.py); the two HTML engines render render/html.py's
template through `render_pdf(html, engine)`. Typst takes ~15 ms for a 3-page report and prints
the running header, the 第 N 页 共 M 页 footer and whole table rows, like WeasyPrint.

Every engine is synchronous and CPU-bound (WeasyPrint: ~0.7 s for a 3-page report of 40 domains
on this 2-core machine): call them from a render worker thread or process (`asyncio.to_thread`, a
ProcessPoolExecutor, the queue worker), never on the event loop. Each thread keeps its own
WeasyPrint FontConfiguration, reused for every report that thread renders (building one costs more
than a small render, and Pango font maps are not shared across threads; a test renders from 4
threads at once).
WeasyPrint's layout is Python under the GIL, so threads keep the loop free but do not add
throughput: scale with worker processes.

WeasyPrint needs Debian's libharfbuzz-subset0: without it, subsetting the 19 MB Noto CJK font
falls back to fontTools and takes ~8 s a report. Only data: URIs are fetched (the HTML is
self-contained); anything else fails the render, so rendering never touches the network or disk.

wkhtmltopdf (`engine="wkhtmltopdf"`, for sites that already run it) and its limits, measured with
Debian's 0.12.6 build on unpatched Qt:
- No running header or footer: the "第 N 页 共 M 页" footers and the report number at the top of
  each page are Typst's and WeasyPrint's only; `--footer-*` needs patched Qt.
- It splits table rows across pages and ignores `break-inside: avoid` on rows.
- With Noto CJK first in the font list, copied or extracted text turns some ideographs into
  compatibility ideographs or radicals (用 -> ⽤, so 13 of 40 domain names were not searchable).
  So this module puts WenQuanYi Zen Hei (a sans face) first in a style block appended to <head>;
  the text then extracts correctly, at the cost of the serif look.
- Images may be re-encoded as JPEG; the QR code is inlined as SVG (vector) to keep it sharp.
- pdfkit turns `<meta name="pdfkit-…">` tags into command-line options: the template has none, and
  untrusted values are escaped, so no such tag can be injected.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from typing import Any, Literal

from render.document import report_document
from render.html import render_html
from render.seal_appearance import Anchor
from render.typst_engine import TypstRenderError, compile_typst_with_metadata
from render.view import ReportView

Engine = Literal["typst", "weasyprint", "wkhtmltopdf"]
HtmlEngine = Literal["weasyprint", "wkhtmltopdf"]
ENGINES: tuple[Engine, ...] = ("typst", "weasyprint", "wkhtmltopdf")
DEFAULT_ENGINE: Engine = "typst"
ISSUER_LABEL = "issuer-at"  # the metadata report.typ places after the issuer's name

# Appended last in <head>, so it wins over the template's serif stack.
WKHTMLTOPDF_FONT_OVERRIDE = (
    "<style>html, body, h1, h2, h3, table, th, td, p, li, blockquote, .mono "
    '{ font-family: "WenQuanYi Zen Hei", "WenQuanYi Zen Hei Sharp", sans-serif !important; }'
    "</style>"
)
WKHTMLTOPDF_OPTIONS: dict[str, str | None] = {
    "encoding": "UTF-8",
    "page-size": "A4",
    "margin-top": "20mm",
    "margin-bottom": "20mm",
    "margin-left": "18mm",
    "margin-right": "18mm",
    "disable-javascript": None,
    "disable-local-file-access": None,
    "image-quality": "100",
    "print-media-type": None,
}


class RenderError(RuntimeError):
    """The engine failed to turn the HTML into a PDF."""


_local = threading.local()


def _font_config() -> object:
    # One per thread (see module docstring); created on first use.
    config = getattr(_local, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _local.font_config = FontConfiguration()
    return config


@dataclass(frozen=True)
class TypesetReport:
    """A report's PDF, and where its issuer's name is printed when the engine says so (Typst)."""

    pdf: bytes
    issuer_at: Anchor | None = None


def report_pdf(view: ReportView, engine: Engine = DEFAULT_ENGINE) -> bytes:
    """The report's PDF with the given engine, all from the one view. Synchronous, CPU-bound."""
    return typeset_report(view, engine).pdf


def typeset_report(view: ReportView, engine: Engine = DEFAULT_ENGINE) -> TypesetReport:
    """As report_pdf, with the issuer line's position for the seal where the engine gives it."""
    if engine == "typst":
        try:
            pdf, at = compile_typst_with_metadata(
                "report.typ", report_document(view), ISSUER_LABEL,
                timestamp=int(view.issued_at.timestamp()),
            )  # fmt: skip
        except TypstRenderError as e:
            raise RenderError(str(e)) from e
        return TypesetReport(pdf, _anchor(at))
    if engine in ("weasyprint", "wkhtmltopdf"):
        return TypesetReport(render_pdf(render_html(view), engine))
    raise ValueError(f"unknown PDF engine {engine!r}; expected one of {', '.join(ENGINES)}")


def _anchor(at: dict[str, Any] | None) -> Anchor | None:
    if not at:
        return None  # the seal then finds the name in the PDF's text
    return Anchor(page=int(at["page"]) - 1, x=float(at["x"]), y=float(at["y"]),
                  page_width=float(at["width"]), page_height=float(at["height"]))  # fmt: skip


def render_pdf(html: str, engine: HtmlEngine = "weasyprint") -> bytes:
    """Render a self-contained HTML document to PDF bytes. Synchronous: run it off the loop."""
    if engine == "weasyprint":
        return _weasyprint(html)
    if engine == "wkhtmltopdf":
        return _wkhtmltopdf(html)
    raise ValueError(f"unknown HTML engine {engine!r}; expected weasyprint or wkhtmltopdf")


def _weasyprint(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    # A fetcher per call: URLFetcher keeps per-request state, so it is not shared across threads.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    try:
        pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=_font_config())
    except FatalURLFetchingError as e:  # a BaseException: do not let it escape a worker
        raise RenderError(f"the HTML refers to something other than a data: URI: {e}") from e
    if not isinstance(pdf, bytes):
        raise RenderError("WeasyPrint returned no PDF")
    return pdf


def _wkhtmltopdf(html: str) -> bytes:
    import pdfkit

    binary = shutil.which("wkhtmltopdf")
    if binary is None:
        raise RenderError("wkhtmltopdf is not installed (apt-get install wkhtmltopdf)")
    if "</head>" in html:
        html = html.replace("</head>", WKHTMLTOPDF_FONT_OVERRIDE + "</head>", 1)
    else:
        html = WKHTMLTOPDF_FONT_OVERRIDE + html
    config = pdfkit.configuration(wkhtmltopdf=binary)
    try:
        pdf = pdfkit.from_string(html, False, options=WKHTMLTOPDF_OPTIONS, configuration=config)
    except OSError as e:
        raise RenderError(f"wkhtmltopdf failed: {e}") from e
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise RenderError("wkhtmltopdf returned no PDF")
    return pdf
