"""The ops view: /ops (HTML, refreshes itself), /ops/api/* (JSON). Ops token required."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from config import clock
from config.calendar import CHINA
from handlers.auth import OPS_COOKIE, require_ops
from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import client_ip
from handlers.templates_env import TEMPLATES, render_page
from services.accounts.ops_sessions import SESSION_TTL_S, check_token, start_session
from services.errors import Forbidden, ServiceError, Unauthorized
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


async def ops_page(request: web.Request) -> web.StreamResponse:
    try:
        await require_ops(request)
    except (Unauthorized, Forbidden):
        raise web.HTTPSeeOther("/ops/login") from None
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
    )


async def login_form(request: web.Request) -> web.Response:
    return render_page("ops_login.html")


async def login(request: web.Request) -> web.Response:
    token = (await request.post()).get("token", "")
    redis, settings = request.app[REDIS], request.app[SETTINGS]
    try:
        await check_token(redis, settings.ops_token, token if isinstance(token, str) else "",
                          client_ip(request))  # fmt: skip
    except ServiceError as exc:
        return render_page("ops_login.html", status=exc.status, error=exc.message)
    response = web.HTTPSeeOther("/ops")
    # SameSite=Strict keeps other sites from riding the cookie into the action forms; Secure
    # whenever the public address (or this request) is HTTPS.
    secure = settings.public_base_url.startswith("https://") or request.secure
    response.set_cookie(
        OPS_COOKIE, await start_session(redis), httponly=True, samesite="Strict", secure=secure,
        path="/", max_age=SESSION_TTL_S,
    )  # fmt: skip
    raise response


def _actor(request: web.Request) -> str:
    # Ops share one token for now; the request id ties the audit entry to the access log.
    return f"ops@{request.remote or 'unknown'}"


async def api_queues(request: web.Request) -> web.Response:
    await require_ops(request)
    return web.json_response({"streams": await queues.queue_overview(request.app[REDIS])})


async def api_dead(request: web.Request) -> web.Response:
    await require_ops(request)
    limit = queues.dead_limit(request.query.get("limit", ""))
    letters = await queues.dead_letters(request.app[REDIS], request.match_info["stream"], limit)
    return web.json_response(letters)


async def api_requeue(request: web.Request) -> web.Response:
    await require_ops(request)
    stream, entry_id = request.match_info["stream"], request.match_info["entry_id"]
    new_id = await queues.requeue_dead_letter(request.app[REDIS], _actor(request), stream, entry_id)
    return web.json_response({"requeued": entry_id, "new_entry_id": new_id})


async def api_requeue_all(request: web.Request) -> web.Response:
    await require_ops(request)
    stream = request.match_info["stream"]
    moved = await queues.requeue_all_dead_letters(request.app[REDIS], _actor(request), stream)
    return web.json_response({"requeued": moved})


async def api_drop(request: web.Request) -> web.Response:
    await require_ops(request)
    stream, entry_id = request.match_info["stream"], request.match_info["entry_id"]
    await queues.drop_dead_letter(request.app[REDIS], _actor(request), stream, entry_id)
    return web.json_response({"dropped": entry_id})


async def api_canary(request: web.Request) -> web.Response:
    await require_ops(request)
    sent = await send_canaries(request.app[REDIS], _actor(request))
    return web.json_response({"sent": sent})


def _form_action(api: web.Handler) -> web.Handler:
    """The same action from the HTML page: run it, then go back to /ops."""

    async def action(request: web.Request) -> web.StreamResponse:
        await api(request)
        raise web.HTTPSeeOther("/ops")

    return action


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/ops", ops_page)
    r.add_get("/ops/login", login_form)
    r.add_post("/ops/login", login)
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
