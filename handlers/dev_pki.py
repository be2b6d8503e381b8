"""The development CA's CRL and TSA, served beside the app (`serve --with-dev-pki`, on in
`make run`): GET /verify/pki/root.crl and POST /verify/pki/tsa (RFC 3161 over HTTP).

Production points TSA_URL at a real TSA, and its CA publishes the CRLs its certificates name.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from handlers.keys import SETTINGS
from render.tsa import TimeStampAuthority
from services.reports.rendering import CRL_PATH, platform_pki

TSA_PATH = "/verify/pki/tsa"
MAX_QUERY_BYTES = 4096  # a TimeStampReq is about 100 bytes


def _pki(request: web.Request):  # type: ignore[no-untyped-def]
    settings = request.app[SETTINGS]
    return platform_pki(settings.pki_dir, settings.public_base_url)


async def crl(request: web.Request) -> web.Response:
    der = await asyncio.to_thread(_pki(request).crl)
    return web.Response(body=der, content_type="application/pkix-crl",
                        headers={"Cache-Control": "max-age=300"})  # fmt: skip


async def tsa(request: web.Request) -> web.Response:
    if request.content_type != "application/timestamp-query":
        raise web.HTTPUnsupportedMediaType(text="需要 application/timestamp-query 请求")
    query = await request.content.read(MAX_QUERY_BYTES + 1)
    if len(query) > MAX_QUERY_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_QUERY_BYTES, len(query))
    authority = TimeStampAuthority(*_pki(request).tsa())
    reply = await asyncio.to_thread(authority.respond, query)
    return web.Response(body=reply, content_type="application/timestamp-reply")


def setup(app: web.Application) -> None:
    app.router.add_get(CRL_PATH, crl)
    app.router.add_post(TSA_PATH, tsa)
