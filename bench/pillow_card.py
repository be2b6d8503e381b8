"""The card drawn with Pillow: the same-run baseline of render/card.py's Typst card in bench/render.

It was the platform's card until Typst drew it in a third of the time; it stays here, unused by the
service, so that the comparison can be run again. Layout is done in two passes (place everything,
then draw on a canvas of the final height) so a long name grows the card instead of clipping it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from render.card import DISCLAIMER, WIDTH, clear_headline, found_line
from render.fonts import Role, load_font
from render.html import cn_date, cn_datetime
from render.qr import qr_image, qr_matrix
from render.view import Outcome, ReportView, Section
from render.wording import POLICY_NO, TITLE

MARGIN = 72
INNER = WIDTH - 2 * MARGIN
RED = (180, 22, 27)
BLACK = (17, 17, 17)
GREY = (100, 100, 100)
RULE = (214, 214, 214)
PANEL = (247, 245, 243)
WHITE = (255, 255, 255)
QR_TARGET_PX = 280

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class _Text:
    x: int
    y: int
    text: str
    font: ImageFont.FreeTypeFont
    fill: Colour


@dataclass(frozen=True)
class _Box:
    box: tuple[int, int, int, int]
    fill: Colour | None = None
    outline: Colour | None = None
    width: int = 1


@dataclass(frozen=True)
class _Paste:
    image: Image.Image
    x: int
    y: int


@dataclass
class _Layout:
    """Everything to draw, with positions, collected before the canvas exists."""

    y: int = 0
    ops: list[_Text | _Box | _Paste] = field(default_factory=list)

    def text(
        self,
        text: str,
        role: Role,
        size: int,
        fill: Colour = BLACK,
        x: int = MARGIN,
        width: int = INNER,
        centre: bool = False,
        leading: float = 1.5,
    ) -> None:
        font = load_font(role, size)
        for line in wrap(text, font, width):
            lx = x
            if centre:  # centre the ink, not the advance: （…） carry blank space on one side
                offset = round(font.getbbox(line)[0])
                ink = font.getmask(line).getbbox() or (0, 0, 0, 0)
                lx = x + (width - (ink[2] - ink[0])) // 2 - offset - ink[0]
            self.ops.append(_Text(lx, self.y, line, font, fill))
            self.y += round(size * leading)

    def rule(self, fill: Colour = RULE, height: int = 2, pad: int = 26) -> None:
        self.y += pad
        self.ops.append(_Box((MARGIN, self.y, WIDTH - MARGIN - 1, self.y + height - 1), fill))
        self.y += height + pad


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy wrap by character (CJK has no spaces); never splits inside an ASCII word."""
    if font.getlength(text) <= width:  # the common case: one measurement, not one per character
        return [text]
    lines: list[str] = []
    line = ""
    tokens = _tokens(text)
    # A glued ASCII run wider than the card (a pasted URL) is split by character after all.
    tokens = [p for t in tokens for p in (t if font.getlength(t) > width else [t])]
    for token in tokens:
        if line and font.getlength(line + token) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line or not lines:
        lines.append(line)
    return lines


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for ch in text:
        # Glue runs of ASCII letters and digits (USCC, report numbers) into one token.
        if tokens and _is_word(ch) and _is_word(tokens[-1][-1]):
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_./:?=&%")


def pillow_card(view: ReportView) -> bytes:
    """The summary card as PNG bytes, 1080 px wide, drawn with Pillow."""
    layout = _Layout(y=0)
    _header(layout, view)
    _subject(layout, view)
    _tallies(layout, view.main)
    _findings(layout, view.main)
    if view.related:
        _related(layout, view.related)
    _verification(layout, view)

    height = layout.y
    image = Image.new("RGB", (WIDTH, height), WHITE)
    draw = ImageDraw.Draw(image)
    for op in layout.ops:
        if isinstance(op, _Text):
            draw.text((op.x, op.y), op.text, font=op.font, fill=op.fill)
        elif isinstance(op, _Box):
            draw.rectangle(op.box, fill=op.fill, outline=op.outline, width=op.width)
        else:
            image.paste(op.image, (op.x, op.y))
    out = io.BytesIO()
    # Level 3 is ~3x faster than the default 6 and only a few % larger on flat artwork like this.
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def _header(layout: _Layout, view: ReportView) -> None:
    layout.ops.append(_Box((0, 0, WIDTH - 1, 13), RED))
    layout.y = 70
    layout.text(TITLE, "serif-bold", 62, RED, centre=True, leading=1.35)
    layout.text(f"依据{POLICY_NO}出具 · 用于{view.purpose}", "sans", 27, GREY, centre=True)
    layout.rule(RED, height=3, pad=22)


def _subject(layout: _Layout, view: ReportView) -> None:
    main = view.main
    layout.text("被查询企业", "sans", 26, GREY)
    layout.y += 4
    layout.text(main.enterprise_name, "serif-bold", 44, BLACK, leading=1.4)
    layout.text(f"统一社会信用代码　{main.uscc}", "sans", 28, BLACK)
    layout.y += 6
    layout.text(f"查询时段　{cn_date(view.span_from)} 至 {cn_date(view.span_to)}", "sans", 28)
    layout.text(f"查询领域　{len(view.domain_numbers)} 个", "sans", 28)
    layout.rule()


def _tallies(layout: _Layout, section: Section) -> None:
    cells = (
        ("查见信息", section.count(Outcome.FOUND), RED),
        ("未查见", section.count(Outcome.CLEAR), BLACK),
        ("暂无数据", section.count(Outcome.NO_DATA), GREY),
    )
    gap = 24
    cell_w = (INNER - 2 * gap) // 3
    top, height = layout.y, 168
    big, small = load_font("serif-bold", 72), load_font("sans", 27)
    for i, (label, count, colour) in enumerate(cells):
        x = MARGIN + i * (cell_w + gap)
        layout.ops.append(_Box((x, top, x + cell_w, top + height), PANEL, RULE, 2))
        number = str(count)
        num_x = x + (cell_w - round(big.getlength(number))) // 2
        layout.ops.append(_Text(num_x, top + 14, number, big, colour if count else GREY))
        text = f"{label}（个领域）"
        layout.ops.append(
            _Text(x + (cell_w - round(small.getlength(text))) // 2, top + 114, text, small, GREY)
        )
    layout.y = top + height + 8


def _findings(layout: _Layout, section: Section) -> None:
    layout.y += 22
    found = section.found_domains
    if found:
        layout.text("查见信息的领域", "sans-bold", 30, BLACK)
        layout.y += 4
        for domain in found:
            layout.text(found_line(domain), "sans", 28, BLACK, x=MARGIN + 12, width=INNER - 12)
    else:
        layout.text(clear_headline(section), "sans-bold", 30, BLACK)
    no_data = [d for d in section.domains if d.outcome is Outcome.NO_DATA]
    if no_data:
        layout.y += 8
        names = "、".join(f"{d.number} {d.name}" for d in no_data)
        layout.text(f"暂无数据（不作结论）：{names}", "sans", 26, GREY)
    layout.rule()


def _related(layout: _Layout, sections: tuple[Section, ...]) -> None:
    layout.text(f"关联企业 {len(sections)} 家", "sans-bold", 30, BLACK)
    layout.y += 4
    for section in sections:
        layout.text(f"{section.enterprise_name}（{section.relation}）", "serif-bold", 30, BLACK)
        tally = (
            f"查见 {section.count(Outcome.FOUND)} · 未查见 {section.count(Outcome.CLEAR)}"
            f" · 暂无数据 {section.count(Outcome.NO_DATA)}"
        )
        found = "、".join(f"{d.number} {d.name}" for d in section.found_domains)
        layout.text(tally + (f"　查见：{found}" if found else ""), "sans", 26, GREY)
        layout.y += 8
    layout.rule()


def _verification(layout: _Layout, view: ReportView) -> None:
    n = len(qr_matrix(view.verify_url))
    module = max(4, QR_TARGET_PX // n)  # whole pixels a module, so edges stay sharp
    qr = qr_image(view.verify_url, module_px=module).convert("RGB")
    pad = 28
    top = layout.y
    text_x = MARGIN + pad + qr.width + 36
    text_w = WIDTH - MARGIN - pad - text_x
    inner = _Layout(y=top + pad + 10)
    inner.text("扫码核验真伪", "sans-bold", 34, RED, x=text_x, width=text_w)
    inner.y += 6
    for label, value in (
        ("报告编号", view.report_no),
        ("核验码　", view.verify_code),
        ("出具时间", cn_datetime(view.issued_at)),
        ("出具机构", view.issuer),
    ):
        inner.text(f"{label}　{value}", "sans", 26, BLACK, x=text_x, width=text_w)
    height = max(qr.height + 2 * pad, inner.y + pad - top)
    layout.ops.append(_Box((MARGIN, top, WIDTH - MARGIN - 1, top + height), PANEL))
    layout.ops.append(_Paste(qr, MARGIN + pad, top + (height - qr.height) // 2))
    layout.ops.extend(inner.ops)
    layout.y = top + height

    layout.y += 26
    layout.text(DISCLAIMER, "sans", 24, GREY)
    layout.y += 40
