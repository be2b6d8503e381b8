"""Reading an objection form: multipart (fields and up to 9 images), or JSON or a URL-encoded
form (fields only).

Images are read part by part and refused as soon as one passes 2 MB or a tenth one starts, so a
10 MB file is never read whole. The service checks them again (magic bytes, extension).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from services.errors import InvalidRequest
from services.objection_attachments import MAX_IMAGE_BYTES, MAX_IMAGES, too_large, too_many

MAX_FIELD_BYTES = 64 * 1024
# Chinese as itself in JSON answers, not as \u escapes.
readable_json = functools.partial(json.dumps, ensure_ascii=False)
IMAGE_FIELDS = ("images", "images[]", "image", "file")


@dataclass
class ObjectionForm:
    fields: dict[str, Any] = field(default_factory=dict)
    images: list[tuple[str, bytes]] = field(default_factory=list)

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        return "" if value is None else str(value)

    def number(self, name: str) -> int | None:
        value = self.fields.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InvalidRequest(f"{name} 应为整数", code="invalid_number", field=name) from None

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


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric path segment, or 400."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise InvalidRequest("编号应为整数", code="invalid_id") from None


async def _read_part(part: BodyPartReader, limit: int) -> bytes | None:
    """The part's bytes, or None once it passes `limit` (the rest is not read)."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


async def read_form(request: web.Request) -> ObjectionForm:
    form = ObjectionForm()
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidRequest("不支持嵌套的表单", code="invalid_form")
            if part.filename is not None or part.name in IMAGE_FIELDS:
                if len(form.images) == MAX_IMAGES:
                    raise too_many()
                # Some clients (aiohttp's among them) percent-encode non-ASCII file names.
                name = unquote(part.filename or "")
                data = await _read_part(part, MAX_IMAGE_BYTES)
                if data is None:
                    raise too_large(name)
                form.images.append((name, data))
            elif part.name:
                value = await _read_part(part, MAX_FIELD_BYTES)
                if value is None:
                    raise InvalidRequest(f"字段 {part.name} 过长", code="field_too_long")
                form.fields[part.name] = value.decode("utf-8", errors="replace")
        return form
    if request.content_type == "application/x-www-form-urlencoded":
        form.fields = {k: str(v) for k, v in (await request.post()).items()}
        return form
    if request.can_read_body:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidRequest(
                "请求体应为 JSON 或 multipart/form-data", code="invalid_json"
            ) from None
        if not isinstance(body, dict):
            raise InvalidRequest("请求体应为 JSON 对象", code="invalid_json")
        form.fields = body
    return form
