"""Helpers shared by the ingestion tests: enterprises, keys, rows and pushes that read like the
protocol. (pytest collects this module; it holds no tests of its own.)"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from models.enterprise import Enterprise
from services.accounts.department_keys import create_department_key
from services.demo.seed import make_uscc, organisation_code

NDJSON = "application/x-ndjson"
CSV = "text/csv"
# 市市场监管局 owns 27 (市场监管) alone, and shares 33 and 34; 市药监局 shares 33.
SAMR, DRUGS, ECOLOGY = "samr", "drugs", "ecology"


def uscc_for(index: int) -> str:
    return make_uscc("500103", organisation_code(f"MA{index:06d}"))


async def make_enterprises(count: int = 3) -> list[str]:
    """Enterprises with valid USCCs; returns their USCCs."""
    usccs = [uscc_for(i) for i in range(1, count + 1)]
    for i, uscc in enumerate(usccs, start=1):
        await Enterprise.create(
            uscc=uscc,
            name=f"重庆测试{i}有限公司",
            legal_rep_name="张三",
            legal_rep_id_hash="0" * 64,
            district="渝中区",
        )
    return usccs


async def dept_key(code: str = SAMR) -> str:
    return (await create_department_key(code)).key


def record_row(uscc: str, ref: str = "REF-1", **overrides: Any) -> dict[str, Any]:
    """A valid row for 市场监管 (domain 27), with overrides."""
    row: dict[str, Any] = {
        "uscc": uscc,
        "domain": 27,
        "kind": "administrative_penalty",
        "decision_no": "渝市监罚〔2024〕12号",
        "authority": "重庆市市场监督管理局",
        "decision_date": "2024-03-15",
        "summary": "因未按规定公示年度报告，被处以警告并罚款5,000元。",
        "status": "in_force",
        "source_ref": ref,
        "procedure": "ordinary",
    }
    row.update(overrides)
    return row


def ndjson(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    rows = list(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def push_records(  # type: ignore[no-untyped-def]
    cli, key: str, body: bytes | Any, content_type: str = NDJSON
) -> tuple[int, dict[str, Any]]:
    """POST a batch; returns (status, JSON answer)."""
    r = await cli.post(
        "/api/dept/records", data=body, headers={**auth(key), "Content-Type": content_type}
    )
    return r.status, await r.json()
