"""Aligned terminal tables, with CJK characters counted as two columns."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def column_widths(rows: Sequence[Sequence[str]], columns: int) -> list[int]:
    return [max(display_width(r[i]) for r in rows) for i in range(columns)]


def aligned(rows: Sequence[Sequence[str]]) -> str:
    """Every column padded to its widest cell, two spaces apart, no trailing spaces."""
    widths = column_widths(rows, len(rows[0]))
    return "\n".join(
        "  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
