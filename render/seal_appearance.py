"""The visible seal: a red round 电子印章 on the last page's issuer line, with a note beside it.

Drawn with Pillow at print resolution (about 600 dpi at its printed size) on a transparent
background, once per issuer and process, and kept Flate-encoded (`encoded_appearance`): encoding
2152 x 952 RGBA pixels cost more than the rest of a B-B seal. It is centred on the issuer's name:
where the engine says it printed the name (Typst's `<issuer-at>`, an `Anchor`), else where pypdf's
text positions find it on the last page, so any PDF engine will do. The picture is only a
picture: the note beside it tells the reader that the digital signature, not the image, is the
proof.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

from render.fonts import load_font

SEAL_RED = (200, 16, 26, 215)  # like ink: the name under it stays legible
NOTE_GREY = (70, 70, 70, 255)
SEAL_DIAMETER_PT = 119  # 42 mm, the usual size of an official round seal
NOTE_WIDTH_PT = 150
PX_PER_PT = 8  # 576 dpi: crisp in print, ~100 KB compressed
SEAL_TEXT = "专项信用报告专用章"
NOTE_LINES = (
    "本报告以电子签章签署。",
    "印章图样不作为真伪依据，",
    "请扫描首页二维码或访问",
    "核验页面核验电子签名。",
)


@dataclass(frozen=True)
class Anchor:
    """Where the issuer's name is printed: its start on the baseline, in PDF points from the
    lower left of page `page` (0-based), and that page's size."""

    page: int
    x: float
    y: float
    page_width: float
    page_height: float


@dataclass(frozen=True)
class EncodedImage:
    """An RGB image and its alpha channel, each Flate-encoded, ready to be a PDF image XObject."""

    width: int
    height: int
    rgb: bytes
    alpha: bytes


@dataclass(frozen=True)
class Placement:
    """Where the appearance goes: a page index and a box (x1, y1, x2, y2) in PDF points."""

    page: int
    box: tuple[int, int, int, int]
    found: bool  # the issuer line was found (else a fallback near the page's lower right)


def seal_image(issuer: str, size: int = SEAL_DIAMETER_PT * PX_PER_PT) -> Image.Image:
    """The round seal alone: ring, the issuer's name around the top, a star, the seal's purpose."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c, r = size / 2, size / 2
    ring = size * 0.035
    draw.ellipse((ring / 2, ring / 2, size - ring / 2, size - ring / 2), outline=SEAL_RED,
                 width=round(ring))  # fmt: skip
    _star(draw, c, c, r * 0.26)
    _arc_text(img, issuer, c, r * 0.72, size * 0.13)
    font = load_font("serif-bold", round(size * 0.072))
    draw.text((c, c + r * 0.52), SEAL_TEXT, font=font, fill=SEAL_RED, anchor="mm")
    return img


@lru_cache(maxsize=8)
def appearance_image(issuer: str) -> Image.Image:
    """The seal with the note to its left, as one transparent image (drawn once per issuer and
    process; callers only read it)."""
    seal = seal_image(issuer)
    width = (SEAL_DIAMETER_PT + NOTE_WIDTH_PT) * PX_PER_PT
    img = Image.new("RGBA", (width, seal.height), (0, 0, 0, 0))
    img.alpha_composite(seal, (width - seal.width, 0))
    draw = ImageDraw.Draw(img)
    font = load_font("sans", round(8.5 * PX_PER_PT))
    line = 13 * PX_PER_PT
    top = (seal.height - line * len(NOTE_LINES)) / 2
    right = NOTE_WIDTH_PT * PX_PER_PT - 4 * PX_PER_PT
    for i, text in enumerate(NOTE_LINES):
        draw.text((right, top + i * line), text, font=font, fill=NOTE_GREY, anchor="ra")
    return img


@lru_cache(maxsize=8)
def encoded_appearance(issuer: str) -> EncodedImage:
    """appearance_image(issuer), encoded once per issuer and process (callers only read it)."""
    img = appearance_image(issuer)
    alpha = img.getchannel("A").tobytes()
    rgb = img.convert("RGB").tobytes()
    return EncodedImage(img.width, img.height, zlib.compress(rgb), zlib.compress(alpha))


def place_seal(pdf: bytes, issuer: str) -> Placement:
    """The box for the appearance: the seal centred on the issuer's name on the last page, found
    in the PDF's text (for engines that do not say where they printed it)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    last = len(reader.pages) - 1
    page = reader.pages[last]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    hits: list[tuple[float, float]] = []

    def visit(text: str, cm: list, tm: list, font: object, size: float) -> None:
        if issuer[:6] in text.replace(" ", ""):
            # Text space to user space: the text matrix, then the current transformation.
            x, y = tm[4], tm[5]
            hits.append((cm[0] * x + cm[2] * y + cm[4], cm[1] * x + cm[3] * y + cm[5]))

    page.extract_text(visitor_text=visit)
    if not hits:
        r = SEAL_DIAMETER_PT / 2
        return _placement(last, width - 72 - r, 160.0, width, found=False)
    x, y = hits[-1]
    return placement(Anchor(last, x, y, width, height), issuer)


def placement(anchor: Anchor, issuer: str) -> Placement:
    """The box for the appearance, the seal centred on the name printed at `anchor`."""
    # The name is set at 11 pt, one em a character; the seal sits a little below its baseline.
    cx, cy = anchor.x + len(issuer) * 11 / 2, anchor.y - 6
    spot = _placement(anchor.page, cx, cy, anchor.page_width, found=True)
    return Placement(spot.page, spot.box, found=0 < cy < anchor.page_height)


def _placement(page: int, cx: float, cy: float, width: float, *, found: bool) -> Placement:
    r = SEAL_DIAMETER_PT / 2
    cx = min(cx, width - r - 10)
    left = max(cx - r - NOTE_WIDTH_PT, 10)
    return Placement(page, (round(left), round(cy - r), round(cx + r), round(cy + r)), found)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    points = []
    for i in range(10):
        rr = radius if i % 2 == 0 else radius * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + rr * math.cos(angle), cy + rr * math.sin(angle)))
    draw.polygon(points, fill=SEAL_RED)


def _arc_text(img: Image.Image, text: str, c: float, radius: float, char_px: float) -> None:
    """Each character upright towards the centre, spread over the upper 240 degrees."""
    font = load_font("serif-bold", round(char_px))
    sweep = math.radians(min(240, 20 * len(text) + 20))
    for i, ch in enumerate(text):
        t = 0.5 if len(text) == 1 else i / (len(text) - 1)
        angle = -math.pi / 2 - sweep / 2 + t * sweep  # from lower left, over the top
        tile = Image.new("RGBA", (round(char_px * 1.4),) * 2, (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((tile.width / 2, tile.height / 2), ch, font=font,
                                  fill=SEAL_RED, anchor="mm")  # fmt: skip
        turned = tile.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC)
        x = c + radius * math.cos(angle) - turned.width / 2
        y = c + radius * math.sin(angle) - turned.height / 2
        img.alpha_composite(turned, (round(x), round(y)))
