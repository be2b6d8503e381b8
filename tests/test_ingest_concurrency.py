"""Concurrent pushes: the same batch from many clients counts once, and the log never forks."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from models.record import Record
from models.record_version import RecordVersion
from services.ingest import push
from services.ingest.integrity import verify_record_chain
from tests.test_ingest_support import (
    SAMR,
    dept_key,
    make_enterprises,
    ndjson,
    push_records,
    record_row,
)

ROWS = 400


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many chunks per batch, so that concurrent batches interleave chunk by chunk.
    monkeypatch.setattr(push, "CHUNK_ROWS", 50)


async def test_the_same_batch_pushed_3_times_by_8_clients_counts_as_once(cli):
    usccs = await make_enterprises(5)
    keys = [await dept_key(SAMR) for _ in range(8)]
    body = ndjson(record_row(usccs[i % 5], f"C-{i:04d}") for i in range(ROWS))

    async def client(key: str) -> list[tuple[int, dict]]:
        return [await push_records(cli, key, body) for _ in range(3)]

    answers = [a for many in await asyncio.gather(*(client(k) for k in keys)) for a in many]
    assert all(status == 200 for status, _ in answers), answers
    totals: Counter[str] = Counter()
    for _, answer in answers:
        totals.update(answer["counts"])
    assert totals["created"] == ROWS and totals["updated"] == 0
    assert totals["unchanged"] == ROWS * 23
    assert await Record.all().count() == ROWS
    assert await RecordVersion.all().count() == ROWS
    assert (await verify_record_chain()).ok


async def test_concurrent_changes_to_the_same_records_give_consecutive_versions(cli):
    usccs = await make_enterprises(2)
    key = await dept_key(SAMR)
    bodies = [
        ndjson(record_row(usccs[i % 2], f"V-{i}", summary=f"第{n}稿。") for i in range(100))
        for n in range(6)
    ]
    answers = await asyncio.gather(*(push_records(cli, key, b) for b in bodies))
    assert all(status == 200 for status, _ in answers), answers
    assert sum(a["counts"]["created"] for _, a in answers) == 100
    versions = await RecordVersion.all().values_list("record_id", "version")
    assert len(versions) == len(set(versions)) == 100 * 6
    for record in await Record.all():
        numbers = sorted(v for r, v in versions if r == record.id)
        assert numbers == list(range(1, record.version + 1)) and record.version == 6
    assert (await verify_record_chain()).ok
