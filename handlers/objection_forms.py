"""Reading an objection form: multipart (fields and up to 9 images), or JSON or a URL-encoded
form (fields only).

Images are read part by part and refused as soon as one passes 2 MB or a tenth one starts, so a
10 MB file is never read whole. The service checks them again (magic bytes, extension).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from redis.asyncio import Redis

from config.settings import Settings
from handlers.mp_common import read_json
from models.objection import Objection
from services import objections
from services.errors import InvalidRequest
from services.objection_attachments import MAX_IMAGE_BYTES, MAX_IMAGES, too_large, too_many

MAX_FIELD_BYTES = 64 * 1024
IMAGE_FIELDS = ("images", "images[]", "image", "file")
# The largest ids the columns hold: enterprises and domains are 32-bit, the rest 64-bit.
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1


def positive_id(value: Any, name: str, maximum: int = INT64_MAX) -> int | None:
    """An id from a form or query field: None when absent, 400 unless a whole number that
    the column can hold (a larger one would fail in the database, not here)."""
    if value is None or value == "":
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
        return "" if value is None else _no_nul(str(value), name)

    def number(self, name: str, maximum: int = INT64_MAX) -> int | None:
        return positive_id(self.fields.get(name), name, maximum)

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.fields.get(name)
        if isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
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


async def _read_part(part: BodyPartReader, limit: int) -> bytes | None:
    """The part's bytes, or None once it passes `limit` (the rest is not read)."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


async def _read_multipart(request: web.Request, form: ObjectionForm) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise InvalidRequest("不支持嵌套的表单", code="invalid_form")
        if part.filename is not None or part.name in IMAGE_FIELDS:
            if len(form.images) == MAX_IMAGES:
                raise too_many()
            # Some clients (aiohttp's among them) percent-encode non-ASCII file names.
            name = _no_nul(unquote(part.filename or ""), "文件名")
            data = await _read_part(part, MAX_IMAGE_BYTES)
            if data is None:
                raise too_large(name)
            if not data and not name:  # a browser's file input left empty: no image
                continue
            form.images.append((name, data))
        elif part.name:
            value = await _read_part(part, MAX_FIELD_BYTES)
            if value is None:
                raise InvalidRequest(f"字段 {part.name} 过长", code="field_too_long")
            form.fields[part.name] = value.decode("utf-8", errors="replace")


async def read_form(request: web.Request) -> ObjectionForm:
    form = ObjectionForm()
    if request.content_type == "multipart/form-data":
        try:
            await _read_multipart(request, form)
        except (BadHttpMessage, ValueError):  # a malformed part header, a missing boundary
            raise InvalidRequest("表单格式有误", code="invalid_form") from None
        return form
    if request.content_type == "application/x-www-form-urlencoded":
        form.fields = {k: str(v) for k, v in (await request.post()).items()}
        return form
    if request.can_read_body:
        form.fields = await read_json(request)
    return form


async def submit_from_form(
    redis: Redis, settings: Settings, user_id: int, form: ObjectionForm, channel: str
) -> Objection:
    """An enterprise's objection form, as the mini-program and the web site send it, submitted."""
    enterprise_id = form.number("enterprise_id", INT32_MAX)
    if enterprise_id is None:
        raise InvalidRequest("请指明企业（enterprise_id）", code="enterprise_required")
    return await objections.submit_objection(
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
