"""ReportView -> PDF (or PNG) with Typst: a warm compiler per thread, the data as a JSON input.

Building a `typst.Compiler` loads and indexes the fonts (~130 ms for the Noto CJK collections);
compiling with it afterwards costs ~15 ms for a 3-page report. So each thread keeps one compiler
per template, made on first use and reused for every report that thread renders; a compiler is
never shared between threads, so no lock is needed and no compile waits for another.

Nothing about one report stays in a compiler: the template and fonts are files it reads, and the
report's data goes in as `sys.inputs.data` (the JSON of render/document.py) on each compile, never
written into the template. Typst reads only files under TEMPLATES and the font files given here;
it has no network access and no package downloads (the templates import no packages).

A process that has compiled must not fork a child that compiles (Typst's threads may hold a lock
at the fork): start render processes with "spawn" or as processes of their own, as run.py does.

Fonts are Debian's fonts-noto-cjk (and WenQuanYi Zen Hei as a fallback), the same files the PNG
card uses; system fonts are not scanned, so a stray font cannot change the layout.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path
from typing import Any, Literal

from render.fonts import find_font
from render.html import TEMPLATES

Format = Literal["pdf", "png"]

_local = threading.local()


class TypstRenderError(RuntimeError):
    """Typst could not compile the template with this data."""


@cache
def font_paths() -> tuple[str, ...]:
    """The directories of the CJK font files (FontNotFoundError when they are not installed)."""
    roles = ("serif", "serif-bold", "sans", "sans-bold")
    return tuple(sorted({str(Path(find_font(role).path).parent) for role in roles}))


def _compiler(template: str) -> Any:
    import typst

    compilers: dict[str, Any] = _local.__dict__.setdefault("compilers", {})
    compiler = compilers.get(template)
    if compiler is None:
        compiler = compilers[template] = typst.Compiler(
            input=str(TEMPLATES / template),
            root=str(TEMPLATES),
            font_paths=list(font_paths()),
            ignore_system_fonts=True,
        )
    return compiler


def compile_typst(
    template: str,
    data: dict[str, Any],
    fmt: Format = "pdf",
    *,
    ppi: float | None = None,
    timestamp: int | None = None,
) -> bytes:
    """Compile a template of TEMPLATES with `data` as its JSON input. Synchronous, CPU-bound."""
    import typst

    inputs = {"data": json.dumps(data, ensure_ascii=False)}
    try:
        out = _compiler(template).compile(
            format=fmt, ppi=ppi, sys_inputs=inputs, timestamp=timestamp
        )
    except typst.TypstError as e:
        raise TypstRenderError(f"Typst failed on {template}: {e}") from e
    if isinstance(out, list):  # a PNG of a document of several pages: one image each
        raise TypstRenderError(f"{template} made {len(out)} pages; one was expected")
    if not isinstance(out, bytes):
        raise TypstRenderError(f"Typst returned no {fmt.upper()} for {template}")
    return out


def compile_typst_with_metadata(
    template: str, data: dict[str, Any], label: str, *, timestamp: int | None = None
) -> tuple[bytes, Any]:
    """The PDF, and the value of the `metadata` labelled `label` in it (None unless exactly one).

    The query runs on the same compiler with the same inputs right after the compile, so Typst
    answers it from the layout it has just made (~0.1 ms) instead of laying out again.
    """
    pdf = compile_typst(template, data, timestamp=timestamp)
    found = json.loads(_compiler(template).query(f"<{label}>", field="value"))
    return pdf, found[0] if len(found) == 1 else None
