"""The verification QR code, as PNG (card, downloads) and SVG (the PDF, where it stays vector).

Level Q (25% recovery) by default: a printed report gets stamped, folded and photocopied. A verify
URL of ~70 characters is then version 5 (37 modules); printed 30 mm wide that is 0.8 mm a module,
which phones read easily and pdftoppm at 150 dpi (4.7 px a module) still decodes.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from typing import Literal

import qrcode
import qrcode.constants
from PIL import Image

Level = Literal["M", "Q"]
_LEVELS = {"M": qrcode.constants.ERROR_CORRECT_M, "Q": qrcode.constants.ERROR_CORRECT_Q}
QUIET_ZONE = 4  # modules of white margin the standard asks for


@lru_cache(maxsize=64)
def qr_matrix(url: str, level: Level = "Q") -> tuple[tuple[bool, ...], ...]:
    """The module matrix (True = dark), quiet zone included. Cached: card and PDF share it."""
    if not url:
        raise ValueError("the QR code needs a non-empty URL")
    code = qrcode.QRCode(error_correction=_LEVELS[level], border=QUIET_ZONE)
    code.add_data(url)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def qr_image(url: str, module_px: int = 8, level: Level = "Q") -> Image.Image:
    """A 1-bit Pillow image, module_px pixels a module (integer, so edges stay sharp)."""
    matrix = qr_matrix(url, level)
    n = len(matrix)
    # One byte a module ("L" mode), then a nearest-neighbour upscale: far faster than drawing.
    raw = bytes(0 if dark else 255 for row in matrix for dark in row)
    small = Image.frombytes("L", (n, n), raw)
    return small.resize((n * module_px, n * module_px), Image.Resampling.NEAREST).convert("1")


def qr_png(url: str, module_px: int = 8, level: Level = "Q") -> bytes:
    """The QR code as a PNG file."""
    out = io.BytesIO()
    qr_image(url, module_px, level).save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_svg(url: str, level: Level = "Q") -> str:
    """The QR code as a standalone SVG: one unit a module, sized by whoever places it."""
    matrix = qr_matrix(url, level)
    n = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            # One rectangle per horizontal run of dark modules keeps the path short.
            runs.append(f"M{start} {y}h{x - start}v1h{start - x}z")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'width="{n}" height="{n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def qr_data_uri(url: str, kind: Literal["svg", "png"] = "svg", level: Level = "Q") -> str:
    """A data: URI for inlining in HTML (base64, so nothing in it needs escaping)."""
    if kind == "svg":
        payload, mime = qr_svg(url, level).encode(), "image/svg+xml"
    else:
        payload, mime = qr_png(url, module_px=4, level=level), "image/png"
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
