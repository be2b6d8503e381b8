"""`Idempotency-Key` on creating POSTs: a client that retries after losing the answer gets the
first answer again, and nothing is created twice.

The key is scoped to the caller (a user, a window operator) and the route. The first request
with a key marks it in Redis (SET NX) before doing anything; a concurrent one with the same key
gets 409 until the first has answered; later ones get the stored answer for 24 hours, and 422
if their body differs from the first one's (a form is compared by its fields and images, read
before the key is looked at, so that a retry with another multipart boundary is the same body).
Only successful answers are stored: after an error the same key may be used again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from handlers.json_api import ok, read_body, read_json
from handlers.keys import REDIS
from handlers.mp_auth import client_ip, mp_user
from handlers.objection_forms import MAX_FIELDS_BYTES
from services.errors import Conflict, InvalidRequest, ServiceError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL_S = 24 * 3600
PENDING_TTL_S = 120  # a request that died mid-way frees its key after this
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_PENDING = "pending"


class KeyReused(ServiceError):
    status = 422
    code = "idempotency_key_reused"
    message = "该 Idempotency-Key 已用于内容不同的另一请求，请换用新的标识"


def _redis_key(request: web.Request, caller: str, key: str) -> str:
    scope = f"{caller}\n{request.method} {request.path}\n{key}"
    return "idempotency:" + hashlib.sha256(scope.encode()).hexdigest()


async def idempotent(
    request: web.Request,
    caller: str,
    produce: Callable[[], Awaitable[web.Response]],
    fingerprint: str | None = None,
) -> web.Response:
    """The answer of `produce`, or the stored one when `caller` sent this key before. The body
    is told apart by `fingerprint` (a form's), else by the hash of its bytes."""
    key = request.headers.get(HEADER)
    if key is None:
        return await produce()
    if not _VALID_KEY.fullmatch(key):
        raise InvalidRequest(
            f"{HEADER} 应为 1 至 128 个可见 ASCII 字符", code="invalid_idempotency_key"
        )
    redis, name = request.app[REDIS], _redis_key(request, caller, key)
    fingerprint = fingerprint or await _fingerprint(request)
    pending = json.dumps({"state": _PENDING, "fingerprint": fingerprint})
    if not await redis.set(name, pending, nx=True, ex=PENDING_TTL_S):
        return _replay(await redis.get(name), fingerprint)
    try:
        response = await produce()
    except BaseException:
        await redis.delete(name)
        raise
    if response.status >= 300:
        await redis.delete(name)
        return response
    stored = {"status": response.status, "body": response.text, "type": response.content_type,
              "fingerprint": fingerprint}  # fmt: skip
    await redis.set(name, json.dumps(stored, ensure_ascii=False), ex=TTL_S)
    return response


UserAction = Callable[..., Awaitable[dict[str, Any]]]  # (redis, user_id, body[, client_ip])


def created_by_user(
    action: UserAction, status: int = 201, *, with_client_ip: bool = False
) -> Handler:
    """A mini-program POST that creates something: session, JSON body, `action(redis, user_id,
    body)`, and its answer with `status`, repeatable with an Idempotency-Key. Actions that guess
    at something (bindings, agent codes) also get the client's address, for their lockout."""

    async def handle(request: web.Request) -> web.Response:
        session = await mp_user(request)
        extra = (client_ip(request),) if with_client_ip else ()

        async def produce() -> web.Response:
            body = await read_json(request)
            created = await action(request.app[REDIS], session.user_id, body, *extra)
            return ok(created, status=status)

        return await idempotent(request, f"user:{session.user_id}", produce)

    return handle


async def _fingerprint(request: web.Request) -> str:
    return hashlib.sha256(await read_body(request, MAX_FIELDS_BYTES)).hexdigest()


def _replay(stored: bytes | None, fingerprint: str) -> web.Response:
    answer = json.loads(stored) if stored is not None else {}
    if answer and answer["fingerprint"] != fingerprint:
        raise KeyReused()
    if not answer or answer.get("state") == _PENDING:  # (none: it expired since the SET)
        raise Conflict(
            "相同 Idempotency-Key 的请求正在处理，请稍后再试",
            code="idempotency_in_progress",
            retry_after_s=1,
        )
    return web.Response(
        text=answer["body"],
        status=answer["status"],
        content_type=answer["type"],
        headers={REPLAYED_HEADER: "true"},
    )
