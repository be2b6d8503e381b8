"""The department API (部门接口): push records, read the department's own data quality."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http import HttpVersion11

from config.calendar import calendar_for
from handlers.auth import require_department
from handlers.json_api import ok
from handlers.keys import SETTINGS
from services.accounts.department_keys import ensure_same_department
from services.errors import ServiceError
from services.ingest.parse import API_LIMITS, BODY_CHUNK_BYTES, check_declared_length
from services.ingest.push import ingest_batch
from services.ingest.quality import department_quality


async def push_records(request: web.Request) -> web.Response:
    department = await require_department(request)
    result = await ingest_batch(
        department,
        request.content.iter_chunked(BODY_CHUNK_BYTES),  # streamed, never read whole
        content_type=request.headers.get("Content-Type", ""),
        charset=request.charset,
        content_length=request.content_length,
    )
    return ok(result.to_dict())  # Chinese as itself: departments read this with curl


async def expect_records(request: web.Request) -> web.StreamResponse | None:
    """Answer an `Expect: 100-continue` before the body is sent: a client with a wrong key, or
    one announcing too big a body, is refused without uploading it."""
    try:
        await require_department(request)
        check_declared_length(request.content_length, API_LIMITS)
    except ServiceError as exc:
        return ok(exc.to_dict(), status=exc.status)
    # Then what aiohttp's own expect handler does.
    if request.version != HttpVersion11:
        return None
    if request.headers.get("Expect", "").lower() != "100-continue":
        return web.json_response(
            {"code": "expectation_failed", "message": "不支持该 Expect 请求头"}, status=417
        )
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0
    return None


async def quality(request: web.Request) -> web.Response:
    department = await require_department(request)
    ensure_same_department(department, request.query.get("department"))
    calendar = calendar_for(request.app[SETTINGS].holiday_overrides_path)
    figures = await department_quality(department.code, calendar)
    return ok(figures.to_dict())


def setup(app: web.Application) -> None:
    app.router.add_post("/api/dept/records", push_records, expect_handler=expect_records)
    app.router.add_get("/api/dept/quality", quality)
