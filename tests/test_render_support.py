"""Builders and cached artefacts shared by the render tests (no tests of its own).

A WeasyPrint PDF costs about a second, so each artefact is built once per test session and shared.
"""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from config.catalogue import DOMAINS
from render import make_dev_pki, report_pdf, view_from_snapshot
from render.dev_pki import DevPki
from render.pdf import Engine

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "render" / "sample_snapshot.json"
POLICY = DATA / "policy-yufubanfa-2024-89.txt"
ALL_DOMAIN_NAMES = tuple(d.name for d in DOMAINS)

# Kangxi radicals, CJK radicals supplement and compatibility ideographs: what a broken ToUnicode
# map puts in extracted text instead of the real ideograph (用 -> ⽤).
COMPAT_RE = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf\uf900-\ufaff]")


def sample_snapshot() -> dict[str, Any]:
    """The fixture snapshot: main enterprise + a subsidiary + a branch, a few records."""
    return copy.deepcopy(_sample())


@cache
def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def record(
    kind: str = "administrative_penalty",
    status: str = "in_force",
    n: int = 1,
    summary: str = "未按规定履行相关义务，责令改正并处罚款。",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "decision_no": f"渝测罚〔2024〕{n}号",
        "authority": "重庆市某某局",
        "decision_date": "2024-03-21",
        "summary": summary,
        "status": status,
    }


def domain(
    number: int,
    *,
    data_as_of: str | None = "2025-02-28",
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {"number": number, "data_as_of": data_as_of, "records": records or []}


def snapshot(
    *,
    name: str = "重庆测试科技有限公司",
    uscc: str = "91500000MA5U000000",
    domains: list[dict[str, Any]] | None = None,
    related: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A minimal valid snapshot; domains default to all 40 with nothing found."""
    main = {
        "enterprise_name": name,
        "uscc": uscc,
        "relation": None,
        "domains": domains if domains is not None else [domain(d.number) for d in DOMAINS],
    }
    return {
        "report_no": "YX20250301000007",
        "verify_code": "ABCD23",
        "verify_url": "https://credit.cq.example/verify/YX20250301000007?c=ABCD23",
        "issued_at": "2025-03-01T09:30:00+08:00",
        "requester": {
            "enterprise_name": name,
            "uscc": uscc,
            "applicant": "李四（经办人）",
            "channel": "hall",
        },
        "purpose": "bond",
        "span": {"from": "2022-03-01", "to": "2025-02-28"},
        "sections": [main, *(related or [])],
    }


def long_snapshot() -> dict[str, Any]:
    """Every domain with several records: many pages."""
    domains = [
        domain(d.number, records=[record(n=i, summary="长摘要。" * 12) for i in range(1, 4)])
        for d in DOMAINS
    ]
    return snapshot(name="重庆长报告测试集团股份有限公司", domains=domains)


@cache
def sample_pdf(engine: Engine = "typst") -> bytes:
    return report_pdf(view_from_snapshot(_sample()), engine)


@cache
def long_pdf(engine: Engine = "typst") -> bytes:
    return report_pdf(view_from_snapshot(long_snapshot()), engine)


@dataclass(frozen=True)
class DevKeys:
    """The development PKI held in memory (its files are deleted: no keys left in /tmp)."""

    signer_key: bytes
    signer_cert: bytes
    root_cert: bytes

    def signer(self) -> tuple[bytes, bytes, list[bytes]]:
        return self.signer_key, self.signer_cert, []

    def root(self) -> bytes:
        return self.root_cert


@cache
def dev_pki() -> DevKeys:
    with tempfile.TemporaryDirectory(prefix="yucredit-pki-") as directory:
        pki: DevPki = make_dev_pki(Path(directory))
        return DevKeys(*pki.signer()[:2], pki.root())


def pdf_page_texts(pdf: bytes) -> list[str]:
    """Extracted text of each page, whitespace removed (CJK extraction inserts spaces freely)."""
    return [normalise(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_page_image(pdf: bytes, page: int = 1, dpi: int = 150) -> Image.Image:
    """The page rasterised by poppler, as a person's printer or scanner would see it."""
    out = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    image = Image.open(io.BytesIO(out))
    image.load()
    return image


def decode_qr(image: Image.Image) -> list[str]:
    return [
        b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode
    ]
