"""Public verification (/verify), the published keys and root, and signed downloads (/r/...).

Every /verify answer is `Cache-Control: no-store`: a verdict is as of the moment it is asked.
"""

from __future__ import annotations

from contextlib import aclosing

from aiohttp import web

from handlers.keys import REDIS, SETTINGS, SIGNER
from handlers.templates_env import render_page
from services.audit import append_audit
from services.errors import InvalidRequest, NotFound
from services.ratelimit import check_rate
from services.reports.pdf_check import MAX_PDF_BYTES, check_pdf
from services.reports.rendering import platform_pki
from services.reports.signing_keys import published_keys, record_key_in_use
from services.reports.verification import (
    open_download,
    ready_report,
    report_evidence,
    verify_report,
)

VERIFY_PER_MINUTE = 30
NO_STORE = {"Cache-Control": "no-store"}
MAX_MB = MAX_PDF_BYTES // (1024 * 1024)


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(NO_STORE)
    return response


async def pubkey(request: web.Request) -> web.Response:
    return web.Response(text=request.app[SIGNER].public_key_pem(), content_type="text/plain")


async def keys_json(request: web.Request) -> web.StreamResponse:
    await record_key_in_use(request.app[SIGNER])
    return _no_store(web.json_response(await published_keys()))


async def root_pem(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    root = platform_pki(settings.pki_dir, settings.public_base_url).root()
    return web.Response(body=root, content_type="application/x-pem-file")


async def verify(request: web.Request) -> web.StreamResponse:
    report_no = request.match_info.get("report_no") or request.query.get("no", "")
    code = request.query.get("c", "")
    if not report_no and not _wants_json(request):
        return _no_store(render_page("verify.html"))
    await check_rate(request.app[REDIS], f"verify:{_client(request)}", VERIFY_PER_MINUTE)
    try:
        result = await verify_report(
            report_no.strip(), code, request.app[SIGNER], actor=f"verifier@{_client(request)}"
        )
    except NotFound as exc:
        if _wants_json(request):
            raise
        page = render_page("verify.html", status=404, error=exc.message, report_no=report_no)
        return _no_store(page)
    if _wants_json(request):
        return _no_store(web.json_response(result))
    return _no_store(render_page("verify.html", result=result, code=code, max_mb=MAX_MB))


async def evidence(request: web.Request) -> web.StreamResponse:
    """The canonical snapshot, its signature and key id: what tools/verify_offline.py checks."""
    await check_rate(request.app[REDIS], f"verify:{_client(request)}", VERIFY_PER_MINUTE)
    body = await report_evidence(
        request.match_info["report_no"], request.query.get("c", ""), request.app[SIGNER],
        actor=f"verifier@{_client(request)}",
    )  # fmt: skip
    return _no_store(web.json_response(body))


async def check_upload(request: web.Request) -> web.StreamResponse:
    """The optional server-side full check of an uploaded PDF (seal + embedded signature)."""
    await check_rate(request.app[REDIS], f"verify:{_client(request)}", VERIFY_PER_MINUTE)
    if (request.content_length or 0) > MAX_PDF_BYTES:
        raise InvalidRequest(f"文件超过 {MAX_MB} MB，不是本平台出具的报告", code="pdf_too_large")
    report = await ready_report(request.match_info["report_no"], request.query.get("c", ""))
    pdf = await request.content.read(MAX_PDF_BYTES + 1)
    if len(pdf) > MAX_PDF_BYTES:
        raise InvalidRequest(f"文件超过 {MAX_MB} MB，不是本平台出具的报告", code="pdf_too_large")
    settings = request.app[SETTINGS]
    root = platform_pki(settings.pki_dir, settings.public_base_url).root()
    checked = await check_pdf(pdf, root, report)
    await append_audit(f"verifier@{_client(request)}", "report.pdf_checked", "report",
                       report.number, {"genuine": checked.genuine})  # fmt: skip
    return _no_store(web.json_response({"genuine": checked.genuine, "findings": checked.lines()}))


async def download(request: web.Request) -> web.StreamResponse:
    stream, content_type = await open_download(
        request.app[SETTINGS],
        request.match_info["name"],
        request.query.get("e", ""),
        request.query.get("s", ""),
        actor=f"download@{_client(request)}",
    )
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.content_length = stream.size
    await response.prepare(request)
    # A client that goes away mid-download closes the stream (and its file) at once.
    async with aclosing(stream.chunks) as chunks:
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/verify/pubkey", pubkey)
    app.router.add_get("/verify/keys.json", keys_json)
    app.router.add_get("/verify/root.pem", root_pem)
    app.router.add_get("/verify", verify)
    app.router.add_get("/verify/{report_no}.json", evidence)  # before /verify/{report_no}
    app.router.add_post("/verify/{report_no}/check", check_upload)
    app.router.add_get("/verify/{report_no}", verify)
    app.router.add_get("/r/{name}", download)
