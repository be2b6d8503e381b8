"""ReportView -> HTML: one Jinja2 template, A4, every value autoescaped.

Enterprise names, summaries and authorities come from outside (enterprises, departments), so the
environment escapes everything and nothing is marked safe except the QR data URI, which is base64.
The stylesheet is inlined (no file or network fetch at PDF time, which wkhtmltopdf needs too).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2

from render import wording
from render.qr import qr_data_uri
from render.view import Outcome, ReportView, cn_day

TEMPLATES = Path(__file__).resolve().parent / "templates"
_DIGITS = "零一二三四五六七八九"


def cn_numeral(n: int) -> str:
    """1 -> 一, 12 -> 十二, 40 -> 四十: the numbering of section headings (一、二、…)."""
    if not 0 < n < 100:
        raise ValueError(f"section number out of range: {n}")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


cn_date = cn_day


def cn_datetime(value: datetime) -> str:
    return f"{cn_date(value)} {value:%H:%M}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Built once per process: template parsing is most of a cold render.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(cn_numeral=cn_numeral, cn_date=cn_date, cn_datetime=cn_datetime)
    env.globals.update(wording=wording, Outcome=Outcome)
    return env


def render_html(view: ReportView) -> str:
    """The report as one self-contained HTML document (styles and QR code inlined)."""
    template = _environment().get_template("report.html")
    return template.render(view=view, qr_uri=qr_data_uri(view.verify_url, kind="svg"))
