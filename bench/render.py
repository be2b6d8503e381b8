"""Render benchmark: Typst (the default engine) against bare WeasyPrint, warm, in one run.

Run from the repository root:

    .venv/bin/python -m bench.render [--runs 20] [--wkhtmltopdf] [--rpm 40]

Two reports: "plain" (one enterprise, all 40 domains, 3 records: 3 pages) and "related" (the test
fixture: the enterprise, a subsidiary and a branch, 40 domains each: 7 pages). For each it times,
after one warm-up render:
- html: view_from_snapshot + render_html (Jinja2, QR);
- pdf: report_pdf(view) with Typst (warm compiler), against the baseline of bare WeasyPrint on
  the report's HTML (weasyprint.HTML(string=html).write_pdf with one FontConfiguration),
  interleaved run by run so both see the same machine state; also render_pdf(html) (WeasyPrint
  through render/, the selectable engine);
- seal: seal_pdf on that PDF (PAdES B-B, ECDSA P-256), and verify_sealed_pdf;
- seal B-LTA: the same with the visible seal, an RFC 3161 timestamp from the in-process dev TSA,
  the DSS (chain and CRL) and a document timestamp, as reports are sealed;
- card: render_card (Typst, PNG, 1080 px), whose target is p50 < 80 ms, against the same card
  drawn with Pillow (bench/pillow_card.py, the card before Typst);
- report: render_report (view, Typst PDF, B-LTA seal and card), against bare WeasyPrint + the
  same B-LTA visible seal + card.
- with --rpm N: reports per minute through 2 render worker processes (each makes its seal
  material once, as a render worker does), N plain WeasyPrint reports and 8N Typst ones a
  round, B-LTA sealed with the card, the engines taking turns in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file as well as with -m
    sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from bench.pillow_card import pillow_card  # noqa: E402
from config.catalogue import DOMAINS  # noqa: E402
from render import (  # noqa: E402
    DevPki,
    SealMaterial,
    make_dev_pki,
    render_card,
    render_html,
    render_pdf,
    render_report,
    report_pdf,
    seal_pdf,
    verify_sealed_pdf,
    view_from_snapshot,
)
from render.pdf import typeset_report  # noqa: E402
from render.seal_appearance import Anchor  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "render" / "sample_snapshot.json"


def plain_snapshot(related: dict[str, Any]) -> dict[str, Any]:
    """The fixture's enterprise alone: one section, the size of a typical listing report."""
    snap = json.loads(json.dumps(related))
    snap["sections"] = snap["sections"][:1]
    assert len(snap["sections"][0]["domains"]) == len(DOMAINS)
    return snap


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(name: str, samples: list[float], baseline: list[float] | None = None) -> str:
    p50, p99 = pct(samples, 0.5) * 1000, pct(samples, 0.99) * 1000
    ratio = f"{p50 / (pct(baseline, 0.5) * 1000):.2f}x" if baseline else ""
    return f"| {name:<44} | {p50:8.1f} | {p99:8.1f} | {ratio:>8} |"


def bench_case(
    label: str, snap: dict[str, Any], runs: int, seal: SealMaterial, root: bytes, wk: bool
) -> list[str]:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    bare_fonts = FontConfiguration()
    view = view_from_snapshot(snap)
    html = render_html(view)

    def bare() -> bytes:
        pdf = HTML(string=html).write_pdf(font_config=bare_fonts)
        assert isinstance(pdf, bytes)
        return pdf

    def typst() -> bytes:
        return report_pdf(view_from_snapshot(snap))

    # Warm-up: imports, font loading, Jinja parse, first Pango layouts, the Typst compiler.
    pdf = typst()
    render_pdf(html)
    bare()
    render_card(view)
    pillow_card(view)
    sealed = seal_pdf(pdf, seal.key_pem, seal.cert_pem, seal.chain)
    verify_sealed_pdf(sealed, root)
    render_report(snap, seal=seal)

    anchor = typeset_report(view).issuer_at

    def lta(unsealed: bytes = pdf, at: Anchor | None = anchor) -> bytes:
        # As reports are sealed: over the issuer line Typst reports, else the one found in the text.
        return seal_pdf(unsealed, seal.key_pem, seal.cert_pem, seal.chain, trust=seal.trust,
                        issuer=view.issuer, issuer_at=at)  # fmt: skip

    lta()
    keys = ("html", "pdf", "bare", "card", "seal", "lta", "verify", "weasy", "card_pillow")
    t: dict[str, list[float]] = {k: [] for k in keys}
    t.update(report=[], report_bare=[], wk=[])
    for i in range(runs):
        t["html"].append(timed(lambda: render_html(view_from_snapshot(snap))))
        # Alternate which goes first so neither always runs on a warmer cache.
        for step in ("pdf", "bare") if i % 2 == 0 else ("bare", "pdf"):
            t[step].append(timed(bare if step == "bare" else typst))
        t["weasy"].append(timed(lambda: render_pdf(html)))
        t["card"].append(timed(lambda: render_card(view)))
        t["card_pillow"].append(timed(lambda: pillow_card(view)))
        t["seal"].append(timed(lambda: seal_pdf(pdf, seal.key_pem, seal.cert_pem, seal.chain)))
        t["lta"].append(timed(lta))
        t["verify"].append(timed(lambda: verify_sealed_pdf(sealed, root)))
        t["report_bare"].append(timed(lambda: (lta(bare(), None), render_card(view))))
        t["report"].append(timed(lambda: render_report(snap, seal=seal)))
    if wk:
        render_pdf(html, engine="wkhtmltopdf")
        t["wk"] = [timed(lambda: render_pdf(html, engine="wkhtmltopdf")) for _ in range(runs)]

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    png = render_card(view)
    lines = [
        f"\n{label}: {len(view.sections)} section(s), {len(html) // 1024} KiB HTML, "
        f"PDF {len(pdf) // 1024} KiB ({pages} pages), card {len(png) // 1024} KiB",
        "| step                                         |  p50 ms  |  p99 ms  | vs base  |",
        "|----------------------------------------------|---------:|---------:|---------:|",
        row("html: view_from_snapshot + render_html", t["html"]),
        row("baseline: bare WeasyPrint, the report's HTML", t["bare"]),
        row("pdf: report_pdf (Typst, the default)", t["pdf"], t["bare"]),
        row("pdf: render_pdf (WeasyPrint via render/)", t["weasy"], t["bare"]),
    ]
    if wk:
        lines.append(row("pdf: render_pdf (wkhtmltopdf via pdfkit)", t["wk"], t["bare"]))
    lines += [
        row("seal: seal_pdf (PAdES B-B, P-256)", t["seal"]),
        row("seal: B-LTA + visible seal (dev TSA)", t["lta"], t["seal"]),
        row("verify: verify_sealed_pdf", t["verify"]),
        row("baseline: the card drawn with Pillow", t["card_pillow"]),
        row("card: render_card (Typst, PNG, 1080 px)", t["card"], t["card_pillow"]),
        row("baseline: bare WeasyPrint, B-LTA seal, card", t["report_bare"]),
        row("report: render_report (all of it)", t["report"], t["report_bare"]),
    ]
    return lines


_worker_seal: SealMaterial | None = None
TYPST_SHARE = 8  # Typst reports per WeasyPrint report in a round of --rpm


def _warm_worker(pki: DevPki) -> None:
    """Each worker process makes its seal material once, as a render worker does at start."""
    global _worker_seal
    _worker_seal = SealMaterial.from_dev_pki(pki)


def _render_plain(args: tuple[dict[str, Any], str]) -> int:
    snap, engine = args
    pdf, png = render_report(snap, engine, seal=_worker_seal)  # type: ignore[arg-type]
    return len(pdf) + len(png)


def reports_per_minute(snap: dict[str, Any], pki: DevPki, n: int, rounds: int = 2) -> list[str]:
    """Whole reports (B-LTA sealed, with card) through 2 warm worker processes per engine, the
    engines taking turns round by round (W T, T W, ...) so both see the same load: N WeasyPrint
    reports a round, and TYPST_SHARE times as many Typst ones, so that both rounds last about
    as long and a passing burst of other work weighs on both alike."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Spawned, not forked: a fork of a process whose Typst compiler has started its threads can
    # deadlock in the child, and a render worker is a process of its own anyway.
    spawn = multiprocessing.get_context("spawn")
    engines = ("weasyprint", "typst")
    pools = {e: ProcessPoolExecutor(2, spawn, _warm_worker, (pki,)) for e in engines}
    elapsed = dict.fromkeys(engines, 0.0)
    count = {"weasyprint": n, "typst": n * TYPST_SHARE}
    try:
        for engine, pool in pools.items():
            list(pool.map(_render_plain, [(snap, engine)] * 4))  # warm both workers
        for i in range(rounds):
            for engine in engines if i % 2 == 0 else engines[::-1]:
                batch = [(snap, engine)] * count[engine]
                elapsed[engine] += timed(
                    lambda p=pools[engine], b=batch: list(p.map(_render_plain, b))
                )
    finally:
        for pool in pools.values():
            pool.shutdown()
    lines = [f"\nreports per minute, 2 render worker processes, plain report, B-LTA sealed, "
             f"with card, {rounds} alternating rounds:"]  # fmt: skip
    rates = {e: count[e] * rounds / elapsed[e] * 60 for e in engines}
    for engine in engines:
        lines.append(f"- {engine}: {count[engine] * rounds} reports in {elapsed[engine]:.2f} s = "
                     f"{rates[engine]:,.0f}/min")  # fmt: skip
    lines.append(f"- Typst / WeasyPrint: {rates['typst'] / rates['weasyprint']:.1f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--wkhtmltopdf", action="store_true", help="also time the pdfkit engine")
    parser.add_argument("--rpm", type=int, default=0, help="reports per minute over N reports")
    args = parser.parse_args()

    related = json.loads(SAMPLE.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="bench-pki-") as directory:  # no keys left behind
        pki = make_dev_pki(Path(directory))
        run_cases(args, related, pki)


def run_cases(args: argparse.Namespace, related: dict[str, Any], pki: DevPki) -> None:
    seal, root = SealMaterial.from_dev_pki(pki), pki.root()
    print(
        f"$ .venv/bin/python -m bench.render --runs {args.runs}"
        + (" --wkhtmltopdf" * args.wkhtmltopdf)
        + (f" --rpm {args.rpm}" if args.rpm else "")
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{args.runs} warm runs per step after one warm-up"
    )
    for label, snap in (("plain", plain_snapshot(related)), ("related", related)):
        print("\n".join(bench_case(label, snap, args.runs, seal, root, args.wkhtmltopdf)))
    if args.rpm:
        print("\n".join(reports_per_minute(plain_snapshot(related), pki, args.rpm)))


if __name__ == "__main__":
    main()
