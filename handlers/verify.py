"""Public verification (/verify) and signed downloads (/r/...)."""

from __future__ import annotations

from aiohttp import web

from handlers.keys import REDIS, SETTINGS, SIGNER
from handlers.templates_env import render_page
from services.errors import NotFound
from services.ratelimit import check_rate
from services.verification import open_download, verify_report

VERIFY_PER_MINUTE = 30


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


async def pubkey(request: web.Request) -> web.Response:
    return web.Response(text=request.app[SIGNER].public_key_pem(), content_type="text/plain")


async def verify(request: web.Request) -> web.Response:
    report_no = request.match_info.get("report_no") or request.query.get("no", "")
    code = request.query.get("c", "")
    if not report_no and not _wants_json(request):
        return render_page("verify.html")
    await check_rate(request.app[REDIS], f"verify:{_client(request)}", VERIFY_PER_MINUTE)
    try:
        result = await verify_report(
            report_no.strip(), code, request.app[SIGNER], actor=f"verifier@{_client(request)}"
        )
    except NotFound as exc:
        if _wants_json(request):
            raise
        return render_page("verify.html", status=404, error=exc.message, report_no=report_no)
    if _wants_json(request):
        return web.json_response(result)
    return render_page("verify.html", result=result)


async def download(request: web.Request) -> web.Response:
    data, content_type = await open_download(
        request.app[SETTINGS],
        request.match_info["name"],
        request.query.get("e", ""),
        request.query.get("s", ""),
        actor=f"download@{_client(request)}",
    )
    return web.Response(body=data, content_type=content_type)


def setup(app: web.Application) -> None:
    app.router.add_get("/verify/pubkey", pubkey)
    app.router.add_get("/verify", verify)
    app.router.add_get("/verify/{report_no}", verify)
    app.router.add_get("/r/{name}", download)
