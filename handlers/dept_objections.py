"""The department's side of objections, under /api/dept/objections (department API key).

Also runs, in every server process, the sweep that queues notifications an earlier request
could not (services.objections.events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from handlers.auth import require_department
from handlers.json_api import ok, path_id
from handlers.keys import REDIS, SETTINGS
from handlers.objection_forms import read_form
from services.errors import InvalidRequest
from services.ingest.push import today_in_china
from services.objections import lifecycle
from services.objections.events import requeue_missed
from services.objections.views import objection_dict, staff_names

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 60


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise InvalidRequest("overdue 应为 true 或 false", code="invalid_flag")


async def list_routed(request: web.Request) -> web.Response:
    department = await require_department(request)
    today = today_in_china()
    rows = await lifecycle.objections_for_department(
        department,
        status=request.query.get("status"),
        overdue=_flag(request.query.get("overdue")),
        today=today,
    )
    items = [objection_dict(o, today, for_enterprise=False) for o in rows]
    return ok({"items": items})


async def _detail(department, objection_id: int) -> web.Response:  # type: ignore[no-untyped-def]
    objection = await lifecycle.objection_for_department(department, objection_id)
    events = await lifecycle.objection_timeline(objection.id)
    body = objection_dict(objection, today_in_china(), for_enterprise=False, events=events,
                          names=await staff_names(events))  # fmt: skip
    return ok(body)


async def detail(request: web.Request) -> web.Response:
    return await _detail(await require_department(request), path_id(request))


# Each action and the fields of its form (images aside).
ACTIONS = {
    "accept": ("note",),
    "reject": ("note",),
    "resolve": ("resolution", "note", "record"),
    "handover": ("department", "note"),
    "close": ("note",),
}


def _action(action: str) -> Handler:
    """The handler of one action: each has its own path, so the document can describe it."""

    async def handle(request: web.Request) -> web.Response:
        return await act(request, action)

    return handle


async def act(request: web.Request, action: str) -> web.Response:
    department = await require_department(request)
    objection_id = path_id(request)
    form = await read_form(request, ACTIONS[action])
    redis, settings = request.app[REDIS], request.app[SETTINGS]
    note = form.text("note")
    if action == "accept":
        await lifecycle.accept(redis, department, objection_id, note=note,
                                images=form.images, settings=settings)  # fmt: skip
    elif action == "reject":
        await lifecycle.reject(redis, department, objection_id, note=note,
                                images=form.images, settings=settings)  # fmt: skip
    elif action == "handover":
        await lifecycle.hand_over(redis, department, objection_id,
                                   to_department=form.text("department"), note=note)  # fmt: skip
        # The ticket is the other department's now: answer with what this one may still see.
        return ok({"id": objection_id, "handed_to": form.text("department")})
    elif action == "resolve":
        await lifecycle.resolve(redis, department, objection_id,
                                 resolution=form.text("resolution"), note=note,
                                 record_changes=form.mapping("record"),
                                 images=form.images, settings=settings)  # fmt: skip
    else:  # close
        await lifecycle.close_by_department(redis, department, objection_id, note=note)
    return await _detail(department, objection_id)


async def attachment(request: web.Request) -> web.Response:
    department = await require_department(request)
    objection = await lifecycle.objection_for_department(department, path_id(request))
    data, content_type = await lifecycle.attachment(
        objection, path_id(request, "event_id"), path_id(request, "n"), request.app[SETTINGS]
    )
    return web.Response(body=data, content_type=content_type)


async def _sweep_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        try:
            await requeue_missed(app[REDIS])
        except Exception:  # the next round tries again; a failure here must not stop serving
            log.exception("objection notification sweep failed")


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_sweep_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    app.router.add_get("/api/dept/objections", list_routed)
    app.router.add_get("/api/dept/objections/{id}", detail)
    for action in ACTIONS:
        app.router.add_post(f"/api/dept/objections/{{id}}/{action}", _action(action))
    app.router.add_get("/api/dept/objections/{id}/events/{event_id}/attachments/{n}", attachment)
    app.cleanup_ctx.append(sweeper_ctx)
