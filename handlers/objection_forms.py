"""Reading an objection form: multipart (fields and up to 9 images), or JSON or a URL-encoded
form (fields only).

An API route names its form's fields, as its OpenAPI document does: a multipart or URL-encoded
form with any other field is refused (a JSON body's other members are ignored, as for every
JSON route). The document must close its forms, since a form field's name travels in a part
header, where not every name a schema allows can be written.

Multipart is streamed part by part under caps on the whole body, the number of parts, each field,
all fields together, and the count and size of images. A body announcing more than the caps is
refused before any of it is read; any other is refused as soon as it passes one, so neither a
10 MB image nor 90 MB of tiny fields is ever read whole. The service checks images again (magic
bytes, extension).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from redis.asyncio import Redis

from config.settings import Settings
from handlers.json_api import read_body, read_json
from infra import strict_json
from models.objection import Objection
from services.errors import InvalidRequest
from services.objections import lifecycle
from services.objections.attachments import MAX_IMAGE_BYTES, MAX_IMAGES, too_large, too_many

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16  # the largest form (resolve) has 4 fields
MAX_FIELDS_BYTES = 256 * 1024  # all fields together
MAX_PARTS = MAX_FIELDS + MAX_IMAGES
# Images and fields at their caps, and room for part headers and boundaries.
MAX_FORM_BYTES = MAX_IMAGES * MAX_IMAGE_BYTES + MAX_FIELDS_BYTES + 64 * 1024
IMAGE_FIELDS = ("images", "images[]", "image", "file")
# The fields of each API form (images aside), as the document lists them.
SUBMIT_FIELDS = frozenset({"enterprise_id", "kind", "text", "record_id", "domain", "report_id"})
NOTE_FIELDS = frozenset({"note"})
# The largest ids the columns hold: enterprises and domains are 32-bit, the rest 64-bit.
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1


def positive_id(
    value: Any, name: str, maximum: int = INT64_MAX, *, blank_is_absent: bool = True
) -> int | None:
    """An id from a form or query field: None when absent (or blank, as a form's empty select
    sends it), 400 unless a whole number that the column can hold (a larger one would fail in
    the database, not here)."""
    if value is None or (value == "" and blank_is_absent):
        return None
    number = 0
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):  # also for digits past int()'s length limit
            number = int(value)
    if not 1 <= number <= maximum:
        raise InvalidRequest(f"{name} 应为正整数", code="invalid_number", field=name)
    return number


@dataclass
class ObjectionForm:
    fields: dict[str, Any] = field(default_factory=dict)
    images: list[tuple[str, bytes]] = field(default_factory=list)

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):  # a JSON number or object where text belongs
            raise InvalidRequest(f"{name} 应为文本", code="invalid_text", field=name)
        return _no_nul(value, name)

    def number(self, name: str, maximum: int = INT64_MAX) -> int | None:
        return positive_id(self.fields.get(name), name, maximum)

    def fingerprint(self) -> str:
        """What tells two forms apart (Idempotency-Key), whatever their multipart boundaries."""
        images = [(name, hashlib.sha256(data).hexdigest()) for name, data in self.images]
        canonical = json.dumps([self.fields, images], sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.fields.get(name)
        if isinstance(value, str) and value.strip():
            try:
                value = strict_json.loads(value)
            except strict_json.StrictJsonError:
                value = None
            if not isinstance(value, dict):
                raise InvalidRequest(f"{name} 应为 JSON 对象", code="invalid_json", field=name)
        if value is not None and not isinstance(value, dict):
            raise InvalidRequest(f"{name} 应为 JSON 对象", code="invalid_json", field=name)
        return value or None


def _no_nul(text: str, name: str) -> str:
    """PostgreSQL stores no NUL character in text or JSON: refused here, not a 500 there."""
    if "\x00" in text:
        raise InvalidRequest(f"{name} 含有不允许的字符", code="invalid_character", field=name)
    return text


class _Budget:
    """What is left of the caps while a multipart body streams in."""

    def __init__(self) -> None:
        self.parts = 0
        self.total = 0
        self.fields = 0

    def start_part(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidRequest(f"表单项过多（最多 {MAX_PARTS} 项）", code="too_many_parts")

    def take(self, size: int) -> None:
        self.total += size
        if self.total > MAX_FORM_BYTES:
            raise _form_too_large()


def _form_too_large() -> InvalidRequest:
    mib = MAX_FORM_BYTES // (1024 * 1024)
    return InvalidRequest(f"表单内容超过 {mib} MB 上限", code="form_too_large")


async def _read_part(part: BodyPartReader, limit: int, budget: _Budget) -> bytes | None:
    """The part's bytes, or None once it passes `limit` (the rest is not read)."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        budget.take(len(chunk))
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def _known(name: str | None, fields: Collection[str] | None) -> None:
    if fields is not None and name not in fields and name not in IMAGE_FIELDS:
        raise InvalidRequest(f"表单中有未知的字段：{name or '（无名称）'}", code="unknown_field",
                             field=name or "")  # fmt: skip


async def _read_multipart(
    request: web.Request, form: ObjectionForm, fields: Collection[str] | None
) -> None:
    budget = _Budget()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        budget.start_part()
        if not isinstance(part, BodyPartReader):
            raise InvalidRequest("不支持嵌套的表单", code="invalid_form")
        _known(part.name, fields)
        if part.filename is not None or part.name in IMAGE_FIELDS:
            if len(form.images) == MAX_IMAGES:
                raise too_many()
            # Some clients (aiohttp's among them) percent-encode non-ASCII file names.
            name = _no_nul(unquote(part.filename or ""), "文件名")
            data = await _read_part(part, MAX_IMAGE_BYTES, budget)
            if data is None:
                raise too_large(name)
            if not data and not name:  # a browser's file input left empty: no image
                continue
            form.images.append((name, data))
        elif part.name:
            limit = min(MAX_FIELD_BYTES, MAX_FIELDS_BYTES - budget.fields)
            value = await _read_part(part, limit, budget)
            if value is None:
                raise InvalidRequest(f"字段 {part.name} 过长", code="field_too_long")
            budget.fields += len(value)
            form.fields[part.name] = _utf8(value, part.name)


def _utf8(value: bytes, name: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(
            f"字段 {name} 不是有效的 UTF-8 文本", code="invalid_encoding", field=name
        ) from None


async def _read_urlencoded(request: web.Request, fields: Collection[str] | None) -> dict[str, Any]:
    body = _utf8(await read_body(request, MAX_FIELDS_BYTES), "form")
    pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    for name, _ in pairs:
        _known(name, fields)
    return dict(pairs)


async def read_form(request: web.Request, fields: Collection[str] | None = None) -> ObjectionForm:
    """The form; with `fields` (an API route's), a multipart or URL-encoded form naming any
    other field than those and the images is refused."""
    form = ObjectionForm()
    if request.content_type == "multipart/form-data":
        length = request.content_length
        if length is not None and length > MAX_FORM_BYTES:
            raise _form_too_large()  # refused before a byte of the body is read
        try:
            await _read_multipart(request, form, fields)
        except (BadHttpMessage, ValueError):  # a malformed part header, a missing boundary
            raise InvalidRequest("表单格式有误", code="invalid_form") from None
        return form
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            form.fields = await _read_urlencoded(request, fields)
        except ValueError:  # too many fields, or percent-escapes that are not UTF-8
            raise InvalidRequest("表单格式有误", code="invalid_form") from None
        return form
    if request.body_exists:  # (it may have been read already: see read_body)
        form.fields = await read_json(request)
    return form


async def submit_from_form(
    redis: Redis, settings: Settings, user_id: int, form: ObjectionForm, channel: str
) -> Objection:
    """An enterprise's objection form, as the mini-program and the web site send it, submitted."""
    enterprise_id = form.number("enterprise_id", INT32_MAX)
    if enterprise_id is None:
        raise InvalidRequest("请指明企业（enterprise_id）", code="enterprise_required")
    return await lifecycle.submit_objection(
        redis,
        user_id=user_id,
        enterprise_id=enterprise_id,
        kind=form.text("kind"),
        text=form.text("text"),
        record_id=form.number("record_id"),
        report_id=form.number("report_id"),
        domain=form.number("domain", INT32_MAX),
        images=form.images,
        channel=channel,
        settings=settings,
    )
