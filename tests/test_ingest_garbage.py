"""Garbage in: clear refusals, nothing half-written, and the server stays up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from models.ingest_batch import IngestBatch
from models.record import Record
from models.record_version import RecordVersion
from tests.test_ingest_support import (
    CSV,
    NDJSON,
    SAMR,
    auth,
    csv_text,
    dept_key,
    make_enterprises,
    ndjson,
    push_records,
    record_row,
)

MIB = 1024 * 1024


@pytest.fixture
async def usccs(db) -> list[str]:
    return await make_enterprises(3)


@pytest.fixture
async def key(db) -> str:
    return await dept_key(SAMR)


async def assert_nothing_written_and_server_up(cli) -> None:  # type: ignore[no-untyped-def]
    assert await Record.all().count() == 0
    assert await RecordVersion.all().count() == 0
    r = await cli.get("/healthz")
    assert r.status == 200, await r.text()


async def test_binary_data_is_refused_whole(cli, key):
    status, answer = await push_records(cli, key, bytes(range(256)) * 64, CSV)
    assert status == 400, answer
    assert answer["code"] == "binary_body" and "二进制" in answer["message"]
    await assert_nothing_written_and_server_up(cli)
    assert (await IngestBatch.get()).status == "refused"


async def test_a_utf16_csv_is_refused_as_binary_with_a_hint(cli, usccs, key):
    body = csv_text([record_row(usccs[0])]).encode("utf-16")
    status, answer = await push_records(cli, key, body, CSV)
    assert status == 400 and "UTF-16" in answer["message"], answer
    await assert_nothing_written_and_server_up(cli)


async def test_high_bytes_without_nul_are_refused_as_csv_in_no_known_encoding(cli, key):
    garbage = bytes(b for b in range(128, 256)) * 50  # 0x80 and 0xff decode in neither
    status, answer = await push_records(cli, key, b"uscc,domain\n" + garbage, CSV)
    assert status == 400 and answer["code"] == "invalid_encoding", answer
    assert "GBK" in answer["message"]
    await assert_nothing_written_and_server_up(cli)


async def test_high_bytes_in_json_lines_are_rejected_row_by_row(cli, usccs, key):
    body = ndjson([record_row(usccs[0], "OK")]) + bytes(range(128, 256)) + b"\n"
    status, answer = await push_records(cli, key, body)
    assert status == 200, answer
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [(2, "invalid_encoding")]
    assert await Record.filter(source_ref="OK").count() == 1


async def test_a_csv_declared_utf8_but_sent_in_gbk_is_refused(cli, usccs, key):
    body = csv_text([record_row(usccs[0])]).encode("gbk")
    status, answer = await push_records(cli, key, body, CSV + "; charset=utf-8")
    assert status == 400 and answer["code"] == "invalid_encoding", answer
    await assert_nothing_written_and_server_up(cli)


@pytest.mark.parametrize(
    ("content_type", "code"),
    [
        ("application/json", "unsupported_media_type"),
        ("text/plain", "unsupported_media_type"),
        (CSV + "; charset=latin-1", "unsupported_charset"),
        (NDJSON + "; charset=gbk", "unsupported_charset"),
    ],
)
async def test_other_formats_and_charsets_are_refused_with_415(cli, usccs, key, content_type, code):
    status, answer = await push_records(cli, key, ndjson([record_row(usccs[0])]), content_type)
    assert status == 415 and answer["code"] == code, answer
    await assert_nothing_written_and_server_up(cli)


async def test_a_csv_truncated_inside_a_quoted_field_is_refused_whole(cli, usccs, key):
    rows = [record_row(usccs[i % 3], f"T-{i}", summary=f"第{i}条, 含逗号") for i in range(5)]
    text = csv_text(rows)
    cut = text[: text.rindex("第4条") + 2]  # the last summary's quote never closes
    status, answer = await push_records(cli, key, cut.encode(), CSV)
    assert status == 422, answer  # text after the header, as the document allows: a rule refuses
    assert answer["code"] == "malformed_csv" and "截断" in answer["message"]
    await assert_nothing_written_and_server_up(cli)


async def test_a_csv_truncated_between_fields_loses_only_its_last_row(cli, usccs, key):
    text = csv_text([record_row(usccs[i], f"T-{i}") for i in range(3)])
    cut = text[: text.rindex("2024-03-15")]  # the last row stops after its authority
    status, answer = await push_records(cli, key, cut.encode(), CSV)
    assert status == 200, answer
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [(4, "wrong_column_count")]
    assert answer["counts"]["created"] == 2


async def test_json_lines_truncated_mid_line_lose_only_that_line(cli, usccs, key):
    body = ndjson([record_row(usccs[i], f"T-{i}") for i in range(3)])
    status, answer = await push_records(cli, key, body[:-40])
    assert status == 200, answer
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [(3, "malformed_json")]
    assert await Record.all().count() == 2
    assert await RecordVersion.all().count() == 2  # each written row has its version


async def test_a_csv_without_a_required_column_is_refused_whole(cli, usccs, key):
    row = record_row(usccs[0])
    del row["status"]
    status, answer = await push_records(cli, key, csv_text([row]).encode(), CSV)
    assert status == 400 and answer["code"] == "invalid_header", answer
    assert "status" in answer["message"]
    await assert_nothing_written_and_server_up(cli)


async def test_formula_injection_in_a_csv_summary_is_rejected_not_stored(cli, usccs, key):
    rows = [
        record_row(usccs[0], "EVIL", summary="=cmd|' /C calc'!A0"),
        record_row(usccs[1], "FINE"),
    ]
    status, answer = await push_records(cli, key, csv_text(rows).encode(), CSV)
    assert status == 200, answer
    assert [(r["source_ref"], r["code"]) for r in answer["rejected"]] == [
        ("EVIL", "formula_injection")
    ]
    assert await Record.filter(source_ref="EVIL").count() == 0
    assert await Record.filter(summary__startswith="=").count() == 0


async def test_more_than_50000_rows_are_refused_before_anything_is_written(cli, usccs, key):
    valid = ndjson([record_row(usccs[0], "FIRST")])
    status, answer = await push_records(cli, key, valid + b"{}\n" * 50_000)
    assert status == 413, answer
    assert answer["code"] == "too_many_rows" and "50000" in answer["message"]
    await assert_nothing_written_and_server_up(cli)


async def test_a_100_mb_body_is_refused_quickly_and_the_server_stays_up(cli, key):
    async def hundred_mib() -> AsyncIterator[bytes]:
        chunk = b'{"uscc": "x"}\n' * (MIB // 14)  # one buffer, sent 100 times
        for _ in range(100):
            yield chunk

    started = time.monotonic()
    r = await cli.post(
        "/api/dept/records",
        data=hundred_mib(),
        headers={**auth(key), "Content-Type": NDJSON},
    )
    answer = await r.json()
    assert r.status == 413, answer
    assert answer["code"] == "body_too_large" and "64 MB" in answer["message"]
    assert time.monotonic() - started < 20
    r.release()
    await assert_nothing_written_and_server_up(cli)


async def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read(cli, key):
    reader, writer = await asyncio.open_connection(cli.server.host, cli.server.port)
    writer.write(
        b"POST /api/dept/records HTTP/1.1\r\nHost: test\r\n"
        + f"Authorization: Bearer {key}\r\n".encode()
        + b"Content-Type: application/x-ndjson\r\nContent-Length: 104857600\r\n\r\n{}\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head
    await assert_nothing_written_and_server_up(cli)


async def _expect(cli, key: str, length: int) -> bytes:  # type: ignore[no-untyped-def]
    reader, writer = await asyncio.open_connection(cli.server.host, cli.server.port)
    writer.write(
        b"POST /api/dept/records HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {length}\r\n".encode()
        + b"Content-Type: application/x-ndjson\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    writer.close()
    return head


async def test_an_expect_100_continue_client_is_refused_before_it_uploads(cli, key):
    assert (await _expect(cli, key, 100 * MIB)).startswith(b"HTTP/1.1 413")
    assert (await _expect(cli, "yc_samr_wrong", 10)).startswith(b"HTTP/1.1 403")
    assert (await _expect(cli, key, 10)).startswith(b"HTTP/1.1 100 Continue")
