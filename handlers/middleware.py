"""Request ids and the one place where errors become JSON answers."""

from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web

from config.logging import request_id_var
from services.errors import ServiceError

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"

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


@web.middleware
async def error_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ServiceError as exc:
        return web.json_response(exc.to_dict(), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_MESSAGES.get(exc.status, ("http_error", "请求未能完成"))
        return web.json_response({"code": code, "message": message}, status=exc.status)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response(
            {"code": "internal_error", "message": "系统繁忙，请稍后再试"}, status=500
        )
