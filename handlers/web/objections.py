"""Objections (异议) and credit repair (信用修复) on the web site: raise them, follow them."""

from __future__ import annotations

from aiohttp import web

from handlers.json_api import path_id
from handlers.keys import REDIS
from handlers.objection_forms import INT32_MAX, positive_id, read_form, submit_from_form
from handlers.web.session import PREFIX, render, see_other, session_of, settings_of
from models.enums import Channel
from services.accounts.bindings import bindings_overview
from services.errors import ServiceError
from services.ingest.push import today_in_china
from services.objections import lifecycle
from services.objections.attachments import MAX_IMAGE_BYTES, MAX_IMAGES
from services.objections.views import KIND_CHOICES, objection_dict, record_dict
from services.reports.requests import report_options
from services.reports.span import check_domains

LIMITS = {
    "count": MAX_IMAGES,
    "megabytes": MAX_IMAGE_BYTES // (1024 * 1024),
    "bytes": MAX_IMAGE_BYTES,
    "types": "JPG、PNG",
}


async def mine(request: web.Request) -> web.Response:
    rows = await lifecycle.objections_for_user(session_of(request).user_id)
    today = today_in_china()
    items = [objection_dict(o, today, for_enterprise=True) for o in rows]
    return render(request, "objections.html", items=items)


async def new(request: web.Request, status: int = 200, **context: object) -> web.Response:
    """The form: the enterprise, the record (from a report or a domain), the kind, text, photos."""
    user_id = session_of(request).user_id
    enterprises = [
        b
        for b in await bindings_overview(user_id, with_agents=False)
        if "objections" in b["scopes"]
    ]
    query = request.query
    enterprise_id = positive_id(query.get("enterprise_id"), "enterprise_id", INT32_MAX)
    if enterprise_id is None and enterprises:
        enterprise_id = enterprises[0]["enterprise"]["id"]
    domain = positive_id(query.get("domain"), "domain", INT32_MAX)
    if domain is not None:
        check_domains([domain])
    records = []
    if enterprise_id is not None:
        rows = await lifecycle.records_open_to_objection(user_id, enterprise_id, domain)
        records = [record_dict(r) for r in rows]
    return render(
        request,
        "objection_new.html",
        status=status,
        enterprises=enterprises,
        enterprise_id=enterprise_id,
        domain=domain,
        records=records,
        kinds=KIND_CHOICES,
        kind=query.get("kind", "correction"),
        report_id=query.get("report_id", ""),
        limits=LIMITS,
        domain_options=report_options()["domains"],
        **context,
    )


async def submit(request: web.Request) -> web.StreamResponse:
    user_id = session_of(request).user_id
    try:
        form = await read_form(request)
        objection = await submit_from_form(request.config_dict[REDIS], settings_of(request),
                                           user_id, form, Channel.WEB.value)  # fmt: skip
    except ServiceError as exc:
        return await new(request, status=exc.status, error=exc)
    raise see_other(f"{PREFIX}/objections/{objection.id}")


async def show(request: web.Request) -> web.Response:
    user_id = session_of(request).user_id
    objection = await lifecycle.objection_for_user(user_id, path_id(request))
    events = await lifecycle.objection_timeline(objection.id)
    view = objection_dict(objection, today_in_china(), for_enterprise=True, events=events)
    return render(request, "objection.html", o=view)


async def close(request: web.Request) -> web.StreamResponse:
    objection_id = path_id(request)
    note = str((await request.post()).get("note", ""))
    await lifecycle.close_by_user(
        request.config_dict[REDIS], session_of(request).user_id, objection_id, note=note
    )
    raise see_other(f"{PREFIX}/objections/{objection_id}")


async def attachment(request: web.Request) -> web.Response:
    objection = await lifecycle.objection_for_user(session_of(request).user_id, path_id(request))
    data, content_type = await lifecycle.attachment(
        objection, path_id(request, "event_id"), path_id(request, "n"), settings_of(request)
    )
    return web.Response(
        body=data, content_type=content_type, headers={"Cache-Control": "private, max-age=300"}
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/objections", mine)
    app.router.add_get("/objections/new", new)
    app.router.add_post("/objections", submit)
    app.router.add_get("/objections/{id:\\d+}", show)
    app.router.add_post("/objections/{id}/close", close)
    app.router.add_get("/objections/{id}/events/{event_id}/attachments/{n}", attachment)
