"""Text a spreadsheet would run as a formula (CSV injection), wherever it may be exported.

Spreadsheets skip leading whitespace (a newline, a no-break or ideographic space) and invisible
format characters (zero-width space, joiners, a byte-order mark) before deciding that a cell is
a formula, so those are skipped here too; a leading tab or carriage return is refused as such.
"""

from __future__ import annotations

import re

_FORMULA = re.compile(r"[\t\r]|[\s\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]*[=+\-@]")


def starts_like_formula(text: str) -> bool:
    return _FORMULA.match(text) is not None


def neutralise(text: str) -> str:
    """The text as a spreadsheet cell that is never run: a leading apostrophe makes a would-be
    formula plain text (what Excel and LibreOffice do when one types it)."""
    return "'" + text if starts_like_formula(text) else text
