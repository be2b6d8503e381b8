"""The service-hall window (/hall/): look an enterprise up, record its consent, issue the report,
preview and print the sealed PDF, record the hand-over, and see today's list. Forms in, pages
out; the rules are services.reports.hall_window's, on the same calls as /api/hall."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from config import clock
from config.catalogue import DOMAINS
from handlers.json_api import path_id
from handlers.keys import REDIS, SETTINGS
from handlers.mp_auth import client_ip
from handlers.staff.session import render_staff, staff_page
from models.enums import ReportPurpose
from models.staff import HALL_ROLES, StaffRole
from services.accounts.staff import StaffIdentity
from services.errors import ServiceError
from services.reports import hall_window

DOMAIN_CHOICES = [{"number": d.number, "name": d.name} for d in DOMAINS]
PURPOSES = [{"value": p.value, "label": p.label} for p in ReportPurpose]


@staff_page(*HALL_ROLES)
async def home(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    query = request.query.get("q", "")
    found = await hall_window.find_enterprises(query)
    today = await hall_window.todays_reports(who, clock.today())
    return render_staff(request, "hall_home.html", q=query, found=found, today=today)


def _issue_page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    return render_staff(request, "hall_issue.html", status=status, domains=DOMAIN_CHOICES,
                        purposes=PURPOSES, **context)  # fmt: skip


@staff_page(StaffRole.WINDOW_OPERATOR)
async def issue_form(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    return _issue_page(request, form={"uscc": request.query.get("uscc", "")[:18]})


def _body(form: Any) -> dict[str, Any]:
    """The /api/hall request body this form means."""
    if form.get("consent") == "agent_code":
        consent = {"agent_code": str(form.get("agent_code", ""))}
    elif form.get("consent") == "agent":
        consent = {"agent_name": str(form.get("agent_name", "")),
                   "agent_phone": str(form.get("agent_phone", ""))}  # fmt: skip
    else:
        consent = {"legal_rep_id_number": str(form.get("legal_rep_id_number", ""))}
    domains = form.getall("domain", [])
    return {
        "uscc": str(form.get("uscc", "")),
        "consent": consent,
        "domains": "all" if form.get("all_domains") or not domains else ",".join(domains),
        "from": str(form.get("from", "")) or None,
        "to": str(form.get("to", "")) or None,
        "purpose": str(form.get("purpose", "")) or ReportPurpose.LISTING.value,
        "related": form.get("related") == "1",
    }


@staff_page(StaffRole.WINDOW_OPERATOR)
async def issue(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    form = await request.post()
    try:
        asked = await hall_window.issue_at_window(
            request.app[REDIS], who, _body(form), client_ip(request)
        )
    except ServiceError as exc:
        if exc.status in (401, 404):
            raise
        kept = {k: str(form.get(k, "")) for k in ("uscc", "agent_name", "purpose", "from", "to")}
        return _issue_page(request, status=exc.status, error=exc.message, form=kept)
    raise web.HTTPSeeOther(f"/hall/reports/{asked['id']}")


async def _report_page(request: web.Request, who: StaffIdentity, status: int = 200,
                       **context: Any) -> web.Response:  # fmt: skip
    view = await hall_window.hall_report(request.app[SETTINGS], who, path_id(request))
    waiting = view["status"] in ("pending", "rendering")
    poll = f"/hall/reports/{view['id']}/status" if waiting else ""
    return render_staff(request, "hall_report.html", status=status, r=view, poll=poll,
                        **context)  # fmt: skip


@staff_page(*HALL_ROLES)
async def report(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    return await _report_page(request, who, done=request.query.get("done") == "1")


@staff_page(*HALL_ROLES)
async def report_status(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    view = await hall_window.hall_report(request.app[SETTINGS], who, path_id(request))
    return web.json_response({"status": view["status"]})


@staff_page(StaffRole.WINDOW_OPERATOR)
async def handover(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    form = await request.post()
    report_id = path_id(request)
    try:
        await hall_window.record_handover(request.app[SETTINGS], who, report_id,
                                          str(form.get("collector", "")),
                                          str(form.get("collector_id", "")))  # fmt: skip
    except ServiceError as exc:
        if exc.status not in (400, 422):  # a form to correct, shown again
            raise
        return await _report_page(request, who, status=400, error=exc.message)
    raise web.HTTPSeeOther(f"/hall/reports/{report_id}?done=1")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/hall/", home)
    r.add_get("/hall/issue", issue_form)
    r.add_post("/hall/issue", issue)
    r.add_get("/hall/reports/{id}", report)
    r.add_get("/hall/reports/{id}/status", report_status)
    r.add_post("/hall/reports/{id}/handover", handover)
