"""Request ids and the one place where errors become JSON answers."""

from __future__ import annotations

import functools
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from config.logging import request_id_var
from services.errors import ServiceError

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# Error messages are Chinese: send them as such, not as \u escapes.
readable_json = functools.partial(json.dumps, ensure_ascii=False)

# aiohttp's own HTTP errors (404 route, 405 method, 413 body) in Chinese.
_HTTP_MESSAGES = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "页面或接口不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
}


@web.middleware
async def request_id_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    rid = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else secrets.token_hex(8)
    token = request_id_var.set(rid)
    started = time.perf_counter()
    try:
        response = await handler(request)
        response.headers[REQUEST_ID_HEADER] = rid
        return response
    finally:
        log.info(
            "%s %s %.1fms", request.method, request.path, (time.perf_counter() - started) * 1000
        )
        request_id_var.reset(token)


def _json_answer(body: dict, status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error answer that cannot itself fail: details echoing what the caller sent may
    hold text that is not valid UTF-8 (a lone surrogate); then it is sent as ASCII escapes."""
    try:
        text = readable_json(body)
        text.encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        text = json.dumps(body, ensure_ascii=True, default=str)
    return web.Response(text=text, status=status, headers=headers, content_type="application/json")


def answer_expectations_in_json(app: web.Application) -> None:
    """aiohttp refuses an unknown `Expect` header (only 100-continue is defined) before any
    middleware runs, as plain text; give that 417 the API's JSON error shape instead."""
    for route in app.router.routes():
        route._expect_handler = _json_expectation(route._expect_handler)  # type: ignore[attr-defined]


def _json_expectation(original: Any) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse | None:
        try:
            return await original(request)
        except web.HTTPExpectationFailed:
            message = "不支持该 Expect 请求头，仅支持 100-continue"
            return _json_answer({"code": "expectation_failed", "message": message}, 417)

    return handle


@web.middleware
async def error_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ServiceError as exc:
        retry_after = exc.details.get("retry_after_s")
        headers = {"Retry-After": str(int(retry_after))} if retry_after else None
        return _json_answer(exc.to_dict(), exc.status, headers)
    except RedisError:
        # Sessions, rate limits and queues live in Redis: while it is away, say so plainly.
        log.warning("redis unavailable on %s %s", request.method, request.path)
        message = "服务暂时不可用（缓存服务无响应），请稍后再试"
        body = {"code": "store_unavailable", "message": message}
        return _json_answer(body, 503, {"Retry-After": "5"})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_MESSAGES.get(exc.status, ("http_error", "请求未能完成"))
        # 405 names the methods the path does take (RFC 9110 §15.5.6).
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _json_answer({"code": code, "message": message}, exc.status, allow)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _json_answer({"code": "internal_error", "message": "系统繁忙，请稍后再试"}, 500)
