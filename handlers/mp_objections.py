"""The enterprise's side of objections, under /api/mp (mini-program session required)."""

from __future__ import annotations

from aiohttp import web

from config.catalogue import DOMAINS_BY_NUMBER
from handlers.idempotency import idempotent
from handlers.json_api import ok, path_id
from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import mp_user
from handlers.objection_forms import (
    INT32_MAX,
    NOTE_FIELDS,
    SUBMIT_FIELDS,
    ObjectionForm,
    positive_id,
    read_form,
    submit_from_form,
)
from models.enums import Channel
from services.accounts.mp_sessions import MpSession
from services.errors import InvalidRequest
from services.ingest.push import today_in_china
from services.objections import lifecycle
from services.objections.events import record_grants
from services.objections.views import objection_dict, record_dict


async def submit(request: web.Request) -> web.Response:
    session = await mp_user(request)
    form = await read_form(request, SUBMIT_FIELDS)
    caller = f"user:{session.user_id}"
    return await idempotent(request, caller, lambda: _submit(request, session, form),
                            form.fingerprint())  # fmt: skip


async def _submit(request: web.Request, session: MpSession, form: ObjectionForm) -> web.Response:
    objection = await submit_from_form(request.app[REDIS], request.app[SETTINGS], session.user_id,
                                       form, Channel.MINIPROGRAM.value)  # fmt: skip
    return await _detail(session.user_id, objection.id, status=201)


async def _detail(user_id: int, objection_id: int, status: int = 200) -> web.Response:
    objection = await lifecycle.objection_for_user(user_id, objection_id)
    events = await lifecycle.objection_timeline(objection.id)
    body = objection_dict(objection, today_in_china(), for_enterprise=True, events=events)
    return ok(body, status=status)


async def list_mine(request: web.Request) -> web.Response:
    session = await mp_user(request)
    open_only = request.query.get("open")
    if open_only not in (None, "1", "true"):
        raise InvalidRequest("open 应为 1 或 true（或省略）", code="invalid_flag")
    rows = await lifecycle.objections_for_user(session.user_id, open_only=open_only is not None)
    today = today_in_china()
    items = [objection_dict(o, today, for_enterprise=True) for o in rows]
    return ok({"items": items})


async def records(request: web.Request) -> web.Response:
    """The records of an enterprise an objection may point at (?enterprise_id=&domain=)."""
    session = await mp_user(request)
    query = request.query
    enterprise_id = positive_id(query.get("enterprise_id"), "enterprise_id", INT32_MAX,
                                blank_is_absent=False)  # fmt: skip
    if enterprise_id is None:
        raise InvalidRequest("请指明企业（enterprise_id）", code="enterprise_required")
    domain = positive_id(query.get("domain"), "domain", INT32_MAX, blank_is_absent=False)
    if domain is not None and domain not in DOMAINS_BY_NUMBER:
        raise InvalidRequest("领域序号应为 1 至 40", code="unknown_domain", field="domain")
    rows = await lifecycle.records_open_to_objection(session.user_id, enterprise_id, domain)
    return ok({"items": [record_dict(r) for r in rows]})


async def detail(request: web.Request) -> web.Response:
    session = await mp_user(request)
    return await _detail(session.user_id, path_id(request))


async def close(request: web.Request) -> web.Response:
    session = await mp_user(request)
    form = await read_form(request, NOTE_FIELDS)
    objection_id = path_id(request)
    await lifecycle.close_by_user(
        request.app[REDIS], session.user_id, objection_id, note=form.text("note")
    )
    return await _detail(session.user_id, objection_id)


async def attachment(request: web.Request) -> web.Response:
    session = await mp_user(request)
    objection = await lifecycle.objection_for_user(session.user_id, path_id(request))
    data, content_type = await lifecycle.attachment(
        objection, path_id(request, "event_id"), path_id(request, "n"), request.app[SETTINGS]
    )
    return web.Response(body=data, content_type=content_type)


async def subscriptions(request: web.Request) -> web.Response:
    """Grants of one-time subscribe messages the mini-program just obtained (a retried request
    with the same Idempotency-Key counts them once)."""
    session = await mp_user(request)
    form = await read_form(request, ("template_id", "count"))

    async def produce() -> web.Response:
        count = form.fields.get("count", 1)
        remaining = await record_grants(session.user_id, form.text("template_id"), count)
        return ok({"template_id": form.text("template_id").strip(), "remaining": remaining})

    return await idempotent(request, f"user:{session.user_id}", produce, form.fingerprint())


def setup(app: web.Application) -> None:
    app.router.add_post("/api/mp/objections", submit)
    app.router.add_get("/api/mp/objections", list_mine)
    app.router.add_get("/api/mp/objections/records", records)
    app.router.add_get("/api/mp/objections/{id:\\d+}", detail)
    app.router.add_post("/api/mp/objections/{id}/close", close)
    app.router.add_get("/api/mp/objections/{id}/events/{event_id}/attachments/{n}", attachment)
    app.router.add_post("/api/mp/subscriptions", subscriptions)
