"""Pure rendering of the 专项信用报告（上市版）: data in, bytes out; no database, network or env.

    view = view_from_snapshot(snapshot)          # render.view: the input contract, documented there
    pdf = report_pdf(view)                       # render.pdf: Typst, or "weasyprint"/"wkhtmltopdf"
    html = render_html(view)                     # render.html: Jinja2, A4, for the HTML engines
    pdf = seal_pdf(pdf, key_pem, cert_pem, [], attachments=..., trust=..., issuer=...)
                                                 # render.seal: PAdES B-LTA, visible seal
    png = render_card(view)                      # render.card: 1080 px PNG for WeChat, <= 2 MB
    pdf, png = render_report(snapshot, "typst", seal=SealMaterial(...))  # all of the above

report_pdf, render_pdf, seal_pdf and verify_sealed_pdf are synchronous and CPU-bound: run them in a
worker thread or process, never on the event loop. Typst, WeasyPrint and pyHanko are imported on
first use, so
importing this package (e.g. for the view types) stays cheap.
"""

from render.card import CardTooLargeError, render_card
from render.dev_pki import DevPki, make_dev_pki
from render.fonts import FontNotFoundError, find_font
from render.html import render_html
from render.pdf import ENGINES, Engine, RenderError, render_pdf, report_pdf
from render.qr import qr_data_uri, qr_png, qr_svg
from render.report import SealMaterial, render_report
from render.seal import (
    Attachment,
    LongTermTrust,
    SealCheck,
    async_verify_sealed_pdf,
    seal_pdf,
    verify_sealed_pdf,
)
from render.view import (
    NO_DATA_SHORT,
    NO_RECORD_SENTENCE,
    DomainResult,
    Outcome,
    RecordLine,
    ReportView,
    Requester,
    Section,
    SnapshotError,
    view_from_snapshot,
)

__all__ = [
    "Attachment",
    "LongTermTrust",
    "NO_DATA_SHORT",
    "NO_RECORD_SENTENCE",
    "ENGINES",
    "CardTooLargeError",
    "DevPki",
    "DomainResult",
    "Engine",
    "FontNotFoundError",
    "Outcome",
    "RecordLine",
    "RenderError",
    "ReportView",
    "Requester",
    "SealCheck",
    "SealMaterial",
    "Section",
    "SnapshotError",
    "async_verify_sealed_pdf",
    "find_font",
    "make_dev_pki",
    "qr_data_uri",
    "qr_png",
    "qr_svg",
    "render_card",
    "render_html",
    "render_pdf",
    "render_report",
    "report_pdf",
    "seal_pdf",
    "verify_sealed_pdf",
    "view_from_snapshot",
]
