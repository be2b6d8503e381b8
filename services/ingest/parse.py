"""From a pushed body to rows: spooling, encodings, and the JSON-lines and CSV formats.

A body is never held in memory whole. It is spooled to a temporary file as it arrives (the size
cap and a binary check apply on the way), then scanned once for its shape (row count, encoding,
CSV structure and header) before anything is written, then read again row by row.

What refuses a whole body (nothing is written): a wrong content type or charset (415), more
than `max_bytes` or `max_rows` (413), binary data (NUL bytes), CSV that cannot be split into
rows (an unterminated quote, as in a truncated file) or lacks a column, text in none of the
accepted encodings (400). Everything else is judged row by row (services.ingest.validate).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

from infra import strict_json
from services.errors import ServiceError
from services.ingest.content import ROW_FIELDS

Format = Literal["ndjson", "csv"]

NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"}
)
CSV_TYPES = frozenset({"text/csv", "application/csv"})
# GB18030 is a superset of GBK and GB2312: it decodes what either of them encodes.
_GB_CHARSETS = frozenset({"gbk", "gb2312", "gb18030", "cp936"})
_UTF8_CHARSETS = frozenset({"utf-8", "utf8"})
# A CSV line longer than this cannot be a record of ours: the file is refused, not read into
# memory. (Rows over max_row_bytes but under this are rejected one by one.)
_MAX_CSV_LINE_CHARS = 1 << 20
_BLOCK = 1 << 16
BODY_CHUNK_BYTES = 1 << 16  # how much of a request body is read at a time
_BOM = "\ufeff"


class BodyTooLarge(ServiceError):
    """The body is over the size or row cap: it is refused whole, nothing written."""

    status = 413
    code = "body_too_large"
    message = "请求内容过大"


class UnsupportedMediaType(ServiceError):
    """The body is neither JSON lines nor CSV, or in a charset we do not read."""

    status = 415
    code = "unsupported_media_type"
    message = "仅支持 application/x-ndjson（JSON Lines）或 text/csv 格式"


class MalformedBody(ServiceError):
    """The body cannot be split into rows: it is refused whole, nothing written."""

    status = 400
    code = "malformed_body"
    message = "文件格式有误，无法逐行读取"


class MalformedCsv(MalformedBody):
    """Text after the CSV header, as the API document allows, whose quoting cannot be split
    into records (a file cut off inside a quoted field): refused whole as unprocessable."""

    status = 422
    code = "malformed_csv"


@dataclass(frozen=True)
class IngestLimits:
    max_bytes: int | None = 64 * 1024 * 1024
    max_rows: int | None = 50_000
    max_row_bytes: int = 8 * 1024


API_LIMITS = IngestLimits()
# Bulk historical loads from the command line: no caps on size or rows, the same row limit.
CLI_LIMITS = IngestLimits(max_bytes=None, max_rows=None)


@dataclass(frozen=True)
class BodyFormat:
    fmt: Format
    charset: str | None  # the declared charset, normalised; None: detect (CSV) or UTF-8


@dataclass(frozen=True)
class BodyShape:
    fmt: Format
    encoding: str  # "utf-8" or "gb18030"
    rows: int  # data rows, blank lines not counted
    header: tuple[str, ...] = ()  # CSV column names, normalised


@dataclass(frozen=True, slots=True)
class RawRow:
    """A row as parsed, before validation; `size` is its length in bytes of UTF-8."""

    line: int
    values: dict[str, Any]
    size: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row refused, and why: line number, field, machine code, Chinese message."""

    line: int
    field: str | None
    code: str
    message: str
    source_ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }
        if self.source_ref is not None:
            out["source_ref"] = self.source_ref
        return out


def body_format(content_type: str, charset: str | None) -> BodyFormat:
    """The format of a body from its Content-Type, or UnsupportedMediaType."""
    media = (content_type or "").split(";")[0].strip().lower()
    declared = (charset or "").strip().strip('"').lower() or None
    if media in NDJSON_TYPES:
        if declared and declared not in _UTF8_CHARSETS:
            raise UnsupportedMediaType(
                "JSON Lines 须使用 UTF-8 编码", code="unsupported_charset", charset=declared
            )
        return BodyFormat("ndjson", "utf-8")
    if media in CSV_TYPES:
        if declared is None:
            return BodyFormat("csv", None)
        if declared in _UTF8_CHARSETS:
            return BodyFormat("csv", "utf-8")
        if declared in _GB_CHARSETS:
            return BodyFormat("csv", "gb18030")
        raise UnsupportedMediaType(
            "CSV 仅支持 UTF-8 或 GBK 编码", code="unsupported_charset", charset=declared
        )
    raise UnsupportedMediaType(
        "仅支持 application/x-ndjson（JSON Lines）或 text/csv 格式",
        code="unsupported_media_type",
        content_type=media,
    )


def content_type_for_path(path: str) -> str:
    """The Content-Type of a file by its extension, for the command line."""
    lower = path.lower()
    if lower.endswith(".csv"):
        return "text/csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "application/x-ndjson"
    raise UnsupportedMediaType("无法由扩展名判断文件格式（应为 .csv、.jsonl 或 .ndjson）")


def too_large(limits: IngestLimits) -> BodyTooLarge:
    mib = (limits.max_bytes or 0) // (1024 * 1024)
    return BodyTooLarge(
        f"请求内容超过 {mib} MB 上限，已拒收；请拆分为多个批次推送", code="body_too_large"
    )


def binary_body(offset: int) -> MalformedBody:
    return MalformedBody(
        "内容含有 NUL 字节，疑似二进制文件或 UTF-16 编码；请以 UTF-8（CSV 也可用 GBK）文本推送",
        code="binary_body",
        offset=offset,
    )


def check_declared_length(content_length: int | None, limits: IngestLimits) -> None:
    """Refuse a body whose declared length is over the cap, before reading a byte of it."""
    if limits.max_bytes is not None and content_length and content_length > limits.max_bytes:
        raise too_large(limits)


async def spool(
    chunks: AsyncIterable[bytes], limits: IngestLimits, content_length: int | None = None
) -> IO[bytes]:
    """The body in an anonymous temporary file, read as it arrives and capped on the way."""
    check_declared_length(content_length, limits)
    # Closed by the caller (or below, on refusal): it is the body from here on.
    spooled = tempfile.TemporaryFile()  # noqa: SIM115
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if limits.max_bytes is not None and size > limits.max_bytes:
                raise too_large(limits)
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise binary_body(size - len(chunk) + nul)
            spooled.write(chunk)
        spooled.seek(0)
        return spooled
    except BaseException:
        spooled.close()
        raise


# ---------------------------------------------------------------------------------------------
# Shape: one pass over the spooled body before anything is written


def scan(file: IO[bytes], body: BodyFormat, limits: IngestLimits) -> BodyShape:
    """Count the rows and check what must hold for the whole body; raise to refuse it."""
    if body.fmt == "ndjson":
        return _scan_ndjson(file, limits)
    encodings = [body.charset] if body.charset else ["utf-8", "gb18030"]
    failure: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            return _scan_csv(file, encoding, limits)
        except UnicodeDecodeError as exc:
            failure = exc
    tried = "、".join("GBK" if e == "gb18030" else "UTF-8" for e in encodings)
    raise MalformedBody(
        f"文件无法按 {tried} 解码；CSV 请使用 UTF-8 或 GBK 编码，并在 Content-Type 中注明 charset",
        code="invalid_encoding",
        offset=failure.start if failure else None,
    )


def _check_row_count(rows: int, limits: IngestLimits) -> None:
    if limits.max_rows is not None and rows > limits.max_rows:
        raise BodyTooLarge(
            f"单次推送最多 {limits.max_rows} 行，本次超过上限，已整批拒收（未写入任何数据）；"
            "请拆分为多个批次",
            code="too_many_rows",
            max_rows=limits.max_rows,
        )


def _scan_ndjson(file: IO[bytes], limits: IngestLimits) -> BodyShape:
    rows = 0
    for _, line, _cut in _physical_lines(file, limits.max_row_bytes):
        if line.strip():
            rows += 1
            _check_row_count(rows, limits)
    return BodyShape("ndjson", "utf-8", rows)


def _scan_csv(file: IO[bytes], encoding: str, limits: IngestLimits) -> BodyShape:
    rows = 0
    header: tuple[str, ...] = ()
    for line, record in _csv_records(file, encoding):
        if not header:
            header = _check_header(record, line)
            continue
        rows += 1
        _check_row_count(rows, limits)
    if not header:  # an empty batch still names its columns
        _check_header([], 1)
    return BodyShape("csv", encoding, rows, header)


def _check_header(record: list[str], line: int) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in record)
    missing = [f for f in ROW_FIELDS if f not in names]
    if missing:
        raise MalformedBody(
            f"CSV 表头缺少必填列：{'、'.join(missing)}（第一行须为列名：{','.join(ROW_FIELDS)}）",
            code="invalid_header",
            line=line,
            missing=missing,
        )
    if len(set(names)) != len(names):
        raise MalformedBody("CSV 表头有重复的列名", code="invalid_header", line=line)
    return names


# ---------------------------------------------------------------------------------------------
# Rows


def iter_raw_rows(
    file: IO[bytes], shape: BodyShape, limits: IngestLimits
) -> Iterator[RawRow | Rejection]:
    """Each data row of a scanned body, parsed, or rejected for its form."""
    file.seek(0)
    if shape.fmt == "ndjson":
        yield from _ndjson_rows(file, limits)
    else:
        yield from _csv_rows(file, shape, limits)


def _ndjson_rows(file: IO[bytes], limits: IngestLimits) -> Iterator[RawRow | Rejection]:
    for number, line, cut in _physical_lines(file, limits.max_row_bytes):
        content = line.strip()
        if not content:
            continue
        if cut or len(content) > limits.max_row_bytes:
            yield _too_long(number, limits)
            continue
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            yield Rejection(
                number,
                None,
                "invalid_encoding",
                "该行不是有效的 UTF-8 文本（JSON Lines 须为 UTF-8）",
            )
            continue
        try:
            values = strict_json.loads(text.removeprefix(_BOM))
        except strict_json.StrictJsonError as exc:
            yield Rejection(number, None, "malformed_json", f"该行不是有效的 JSON：{exc}")
            continue
        if not isinstance(values, dict):
            yield Rejection(number, None, "malformed_json", "每行须为一个 JSON 对象（{...}）")
            continue
        yield RawRow(number, values, len(content))


def _csv_rows(
    file: IO[bytes], shape: BodyShape, limits: IngestLimits
) -> Iterator[RawRow | Rejection]:
    header = shape.header
    width = len(header)
    # Characters times 4 bound the UTF-8 size: most rows need no encoding to be measured.
    cheap_limit = limits.max_row_bytes // 4
    first = True
    for line, record in _csv_records(file, shape.encoding):
        if first:
            first = False
            continue
        chars = sum(map(len, record)) + len(record) - 1
        size = chars
        if chars > cheap_limit:
            size = len(",".join(record).encode("utf-8"))
            if size > limits.max_row_bytes:
                yield _too_long(line, limits)
                continue
        if len(record) != width:
            # (No source_ref: with columns missing or extra, no cell is surely the one named.)
            yield Rejection(
                line,
                None,
                "wrong_column_count",
                f"该行有 {len(record)} 列，与表头的 {width} 列不符"
                "（含逗号的内容请用英文双引号括起）",
            )
            continue
        yield RawRow(line, dict(zip(header, record, strict=True)), size)


def _too_long(line: int, limits: IngestLimits) -> Rejection:
    return Rejection(
        line, None, "row_too_long", f"该行超过 {limits.max_row_bytes} 字节上限，未处理"
    )


def _csv_records(file: IO[bytes], encoding: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each non-blank CSV record; csv.Error refuses the body."""
    file.seek(0)
    # utf-8-sig drops the byte-order mark Excel writes; the wrapper is detached, not closed,
    # so that the spooled file outlives it.
    text = io.TextIOWrapper(
        file, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=""
    )
    try:
        reader = csv.reader(_bounded_lines(text), strict=True)
        previous_end = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise MalformedCsv(
                    f"CSV 在第 {reader.line_num} 行附近无法解析（{_csv_reason(exc)}），"
                    "文件可能被截断或引号不成对；整批未写入",
                    line=reader.line_num,
                ) from None
            start, previous_end = previous_end + 1, reader.line_num
            if record:
                yield start, record
    finally:
        text.detach()


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "文件在引号内结束"
    if "field larger than field limit" in text:
        return "单个字段过长"
    return "引号或分隔符不符合 CSV 规范"


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    while True:
        line = text.readline(_MAX_CSV_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > _MAX_CSV_LINE_CHARS:
            raise MalformedCsv("CSV 中有超过 1 MB 的行，不是可读取的记录文件；整批未写入")
        yield line


def _physical_lines(file: IO[bytes], max_row_bytes: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line, cut) for each line; a line over the row limit is cut and skipped
    to its end, so that no line is read into memory whole."""
    file.seek(0)
    limit = max_row_bytes + 2  # room for the line's own \r\n
    number = 0
    while True:
        line = file.readline(limit)
        if not line:
            return
        number += 1
        cut = len(line) == limit and not line.endswith(b"\n")
        if cut:
            while (rest := file.readline(_BLOCK)) and not rest.endswith(b"\n"):
                pass
        yield number, line, cut
