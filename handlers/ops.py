"""The ops view: /ops (HTML, refreshes itself), /ops/api/* (JSON). Ops staff only, signed in
with their own account (handlers.staff); each action is audited with the person."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from config import clock
from config.calendar import CHINA
from handlers.keys import REDIS
from handlers.staff.session import LOGIN, SESSION, require_staff, staff_page
from handlers.templates_env import TEMPLATES, render_page
from models.staff import StaffRole
from services.accounts.staff import StaffIdentity
from services.jobs import last_canaries, send_canaries
from services.stats import queues

REFRESH_SECONDS = 5


def format_age(seconds: float | None) -> str:
    """An age in Chinese units, coarse enough to read at a glance."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60}秒"
    if s < 86400:
        return f"{s // 3600}小时{s % 3600 // 60}分"
    return f"{s // 86400}天{s % 86400 // 3600}小时"


def format_when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA).strftime("%Y-%m-%d %H:%M:%S")


TEMPLATES.filters["age"] = format_age
TEMPLATES.filters["when"] = format_when


OPS_ONLY = (StaffRole.OPS,)


@staff_page(*OPS_ONLY)
async def ops_page(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    redis = request.app[REDIS]
    streams = await queues.queue_overview(redis)
    canaries = await last_canaries(redis)
    for s in streams:
        s["canary"] = canaries[s["stream"]]
    dead = [await queues.dead_letters(redis, s["stream"]) for s in streams if s["dead"]]
    return render_page(
        "ops.html",
        streams=streams,
        dead=dead,
        dead_total=sum(d["total"] for d in dead),
        refresh=REFRESH_SECONDS,
        generated_at=clock.now().strftime("%Y-%m-%d %H:%M:%S"),
        who=who,
        csrf=request[SESSION].csrf,
    )


async def to_staff_login(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{LOGIN}?next=/ops")


async def _ops(request: web.Request) -> str:
    """The signed-in ops person's name in the audit trail (401/403 for anyone else)."""
    return (await require_staff(request, OPS_ONLY)).actor


async def api_queues(request: web.Request) -> web.Response:
    await _ops(request)
    return web.json_response({"streams": await queues.queue_overview(request.app[REDIS])})


async def api_dead(request: web.Request) -> web.Response:
    await _ops(request)
    limit = queues.dead_limit(request.query.get("limit", ""))
    letters = await queues.dead_letters(request.app[REDIS], request.match_info["stream"], limit)
    return web.json_response(letters)


async def api_requeue(request: web.Request) -> web.Response:
    actor = await _ops(request)
    stream, entry_id = request.match_info["stream"], request.match_info["entry_id"]
    new_id = await queues.requeue_dead_letter(request.app[REDIS], actor, stream, entry_id)
    return web.json_response({"requeued": entry_id, "new_entry_id": new_id})


async def api_requeue_all(request: web.Request) -> web.Response:
    actor = await _ops(request)
    stream = request.match_info["stream"]
    moved = await queues.requeue_all_dead_letters(request.app[REDIS], actor, stream)
    return web.json_response({"requeued": moved})


async def api_drop(request: web.Request) -> web.Response:
    actor = await _ops(request)
    stream, entry_id = request.match_info["stream"], request.match_info["entry_id"]
    await queues.drop_dead_letter(request.app[REDIS], actor, stream, entry_id)
    return web.json_response({"dropped": entry_id})


async def api_canary(request: web.Request) -> web.Response:
    sent = await send_canaries(request.app[REDIS], await _ops(request))
    return web.json_response({"sent": sent})


def _form_action(api: web.Handler) -> web.Handler:
    """The same action from the HTML page: run it, then go back to /ops."""

    @staff_page(*OPS_ONLY)
    async def action(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
        await api(request)
        raise web.HTTPSeeOther("/ops")

    return action


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/ops", ops_page)
    r.add_get("/ops/login", to_staff_login)
    r.add_get("/ops/api/queues", api_queues)
    r.add_get("/ops/api/dead/{stream}", api_dead)
    r.add_post("/ops/api/dead/{stream}/requeue-all", api_requeue_all)
    r.add_post("/ops/api/dead/{stream}/{entry_id}/requeue", api_requeue)
    r.add_delete("/ops/api/dead/{stream}/{entry_id}", api_drop)
    r.add_post("/ops/api/canary", api_canary)
    r.add_post("/ops/canary", _form_action(api_canary))
    r.add_post("/ops/dead/{stream}/requeue-all", _form_action(api_requeue_all))
    r.add_post("/ops/dead/{stream}/{entry_id}/requeue", _form_action(api_requeue))
    r.add_post("/ops/dead/{stream}/{entry_id}/drop", _form_action(api_drop))
