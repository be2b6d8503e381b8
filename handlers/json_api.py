"""Small helpers shared by the API handlers (mini-program, window, department, ops): JSON in,
JSON out, ids from the path."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.middleware import readable_json as dumps
from infra import strict_json
from services.errors import InvalidRequest

MAX_JSON_BYTES = 64 * 1024
_BODY = web.RequestKey("body", bytes)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


async def read_body(request: web.Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The whole body, refused (400) once it announces or passes `limit` bytes. Kept on the
    request, so that a second reader (the Idempotency-Key check, then the handler) gets it too."""
    if request.content_length is not None and request.content_length > limit:
        raise InvalidRequest("请求内容过大", code="body_too_large")
    if (cached := request.get(_BODY)) is not None:
        if len(cached) > limit:
            raise InvalidRequest("请求内容过大", code="body_too_large")
        return cached
    raw = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        raw += chunk
        if len(raw) > limit:  # a chunked body announces no length
            raise InvalidRequest("请求内容过大", code="body_too_large")
    request[_BODY] = bytes(raw)
    return request[_BODY]


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or 400 with a Chinese message (infra.strict_json: bounded
    nesting, strict UTF-8), for every route that takes JSON."""
    try:
        body = strict_json.loads(await read_body(request))
    except strict_json.StrictJsonError as exc:
        raise InvalidRequest(f"请求内容应为 JSON 对象：{exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("请求内容应为 JSON 对象", code="invalid_json")
    return body


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric id from the path; 404 for anything else (as for an unknown id). ASCII digits
    only: "¹" is a digit to str.isdigit() but not to int()."""
    value = request.match_info[name]
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise web.HTTPNotFound()
    return int(value)
