"""Where the CJK font files are: Typst reads them for the PDF and the card; Pillow for the bench.

Known Debian paths are tried first (no subprocess), then `fc-match`. A face is accepted only if
its family name is the one asked for: fc-match always answers with *some* font, and a Latin
fallback would print every Chinese character as a box.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from PIL import ImageFont

Role = Literal["serif", "serif-bold", "sans", "sans-bold"]

NOTO = Path("/usr/share/fonts/opentype/noto")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

# (family, style for fc-match, known path, index of the SC face in that collection).
_CANDIDATES: dict[Role, tuple[tuple[str, str, Path, int], ...]] = {
    "serif": (
        ("Noto Serif CJK SC", "Regular", NOTO / "NotoSerifCJK-Regular.ttc", 2),
        ("WenQuanYi Zen Hei", "Regular", WQY, 0),
    ),
    "serif-bold": (
        ("Noto Serif CJK SC", "Bold", NOTO / "NotoSerifCJK-Bold.ttc", 2),
        ("WenQuanYi Zen Hei", "Regular", WQY, 0),
    ),
    "sans": (
        ("Noto Sans CJK SC", "Regular", NOTO / "NotoSansCJK-Regular.ttc", 2),
        ("WenQuanYi Zen Hei", "Regular", WQY, 0),
    ),
    "sans-bold": (
        ("Noto Sans CJK SC", "Bold", NOTO / "NotoSansCJK-Bold.ttc", 2),
        ("WenQuanYi Zen Hei", "Regular", WQY, 0),
    ),
}


class FontNotFoundError(RuntimeError):
    """No CJK font for a role: install fonts-noto-cjk (or at least fonts-wqy-zenhei)."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int  # face index inside a .ttc collection
    family: str


@cache
def find_font(role: Role) -> FontFile:
    """The font file for a role, or FontNotFoundError naming what was looked for."""
    tried: list[str] = []
    for family, style, path, index in _CANDIDATES[role]:
        for found in (_at_known_path(family, path, index), _by_fc_match(family, style)):
            if found is not None:
                return found
        tried.append(f"{family} {style} ({path} or fc-match)")
    raise FontNotFoundError(
        f"no CJK font for the {role!r} text of the report card; looked for: {'; '.join(tried)}. "
        "Install them with: apt-get install fonts-noto-cjk fonts-wqy-zenhei"
    )


@lru_cache(maxsize=64)
def load_font(role: Role, size: int) -> ImageFont.FreeTypeFont:
    """A Pillow font of that role and pixel size, cached: opening a 26 MB collection is slow."""
    font = find_font(role)
    return ImageFont.truetype(font.path, size=size, index=font.index)


def _at_known_path(family: str, path: Path, index: int) -> FontFile | None:
    if not path.is_file():
        return None
    # Check the face, so a differently ordered collection does not silently give JP glyphs.
    for i in (index, *range(8)):
        try:
            name = ImageFont.truetype(str(path), size=12, index=i).getname()[0]
        except OSError:
            break  # past the last face
        if name == family:
            return FontFile(str(path), i, family)
    return None


def _by_fc_match(family: str, style: str) -> FontFile | None:
    binary = shutil.which("fc-match")
    if binary is None:
        return None
    try:
        out = subprocess.run(
            [binary, "-f", "%{file}\t%{index}\t%{family}", f"{family}:style={style}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, rest = out.partition("\t")
    index, _, families = rest.partition("\t")
    if family not in families.split(",") or not Path(path).is_file():
        return None
    return FontFile(path, int(index or 0), family)
