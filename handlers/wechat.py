"""The Official Account webhook: /wechat (server check, and pushes in plain or safe mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from handlers.keys import REDIS, SETTINGS, WECHAT_INBOUND
from services.wechat.webhook import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    InboundQueue,
    Push,
    echo,
    receive,
)

# What WeChat expects when there is no passive reply: it then neither retries nor complains.
SUCCESS = "success"


async def check_server(request: web.Request) -> web.Response:
    """GET /wechat: WeChat's server check."""
    push = Push.from_query(request.query)
    answer = echo(request.app[SETTINGS], push, request.query.get("echostr", ""))
    return web.Response(text=answer, content_type="text/plain")


async def push(request: web.Request) -> web.Response:
    """POST /wechat: a message or event from WeChat."""
    body = await read_limited(request, MAX_BODY_BYTES)
    inbound = request.app[WECHAT_INBOUND]
    await receive(inbound, request.app[SETTINGS], Push.from_query(request.query), body)
    return web.Response(text=SUCCESS, content_type="text/plain")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (before reading the rest)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def inbound_ctx(app: web.Application) -> AsyncIterator[None]:
    # After redis_ctx: the queue writes through the app's Redis client.
    app[WECHAT_INBOUND] = InboundQueue(app[REDIS])
    yield


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(inbound_ctx)
    app.router.add_get("/wechat", check_server)
    app.router.add_post("/wechat", push)
