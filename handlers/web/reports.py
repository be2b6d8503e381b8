"""Asking for a report on the web site, following it to ready, and the history."""

from __future__ import annotations

from aiohttp import web

from handlers.json_api import ok, path_id
from handlers.keys import REDIS
from handlers.web.session import PREFIX, render, see_other, session_of, settings_of
from handlers.web.views import SPAN_PRESETS, domain_groups, domain_names, report_body
from models.enums import Channel, ReportStatus
from services.access import Actor
from services.accounts.bindings import bindings_overview
from services.errors import ServiceError
from services.ingest.push import today_in_china
from services.reports.requests import (
    ReportAsk,
    history_for_user,
    page_params,
    related_preview,
    report_for_user,
    report_options,
    request_report,
)
from services.reports.span import check_domains, check_span


def _reporting(items: list[dict]) -> list[dict]:
    return [b for b in items if "reports" in b["scopes"]]


async def new(request: web.Request, status: int = 200, **context: object) -> web.Response:
    enterprises = _reporting(
        await bindings_overview(session_of(request).user_id, with_agents=False)
    )
    options = report_options()
    return render(
        request,
        "report_new.html",
        status=status,
        enterprises=enterprises,
        groups=domain_groups(options),
        purposes=options["purposes"],
        earliest=options["earliest_date"],
        today=today_in_china().isoformat(),
        presets=SPAN_PRESETS,
        chosen=request.query.get("uscc", ""),
        **context,
    )


async def confirm(request: web.Request) -> web.StreamResponse:
    """The summary to confirm: what will be covered, and which related enterprises are not."""
    form = await request.post()
    user_id = session_of(request).user_id
    try:
        body = report_body(form, today_in_china())
        check_span(body["from"], body["to"], today_in_china())
        check_domains(body["domains"])
        preview = await related_preview(user_id, body["uscc"])  # also checks the authorisation
    except ServiceError as exc:
        return await new(request, status=exc.status, error=exc)
    purposes = {p["value"]: p["label"] for p in report_options()["purposes"]}
    domains = body["domains"] if body["domains"] == "all" else ",".join(body["domains"])
    return render(
        request,
        "report_confirm.html",
        body=body,
        preview=preview,
        domain_list=domains,
        domains=domain_names(body["domains"]),
        purpose=purposes.get(body["purpose"], body["purpose"]),
    )


async def create(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    body = {
        "uscc": str(form.get("uscc", "")),
        "domains": str(form.get("domains", "all")),
        "from": str(form.get("from", "")) or None,
        "to": str(form.get("to", "")) or None,
        "purpose": str(form.get("purpose", "listing")),
        "related": form.get("related") == "1",
    }
    actor = Actor(user_id=session_of(request).user_id)
    try:
        ask = ReportAsk.from_body(body)
        result = await request_report(request.config_dict[REDIS], actor, ask, Channel.WEB.value)
    except ServiceError as exc:
        return await new(request, status=exc.status, error=exc)
    raise see_other(f"{PREFIX}/reports/{result['id']}")


async def show(request: web.Request) -> web.Response:
    report = await report_for_user(
        settings_of(request), session_of(request).user_id, path_id(request)
    )
    return render(request, "report.html", report=report, domains=domain_names(report["domains"]))


async def status(request: web.Request) -> web.Response:
    """The report's status for the page's live view (polled while pending or rendering)."""
    report = await report_for_user(
        settings_of(request), session_of(request).user_id, path_id(request)
    )
    return ok({"status": report["status"], "status_label": report["status_label"]})


async def history(request: web.Request) -> web.Response:
    user_id = session_of(request).user_id
    uscc, wanted = request.query.get("uscc", ""), request.query.get("status", "")
    page, size = page_params(request.query.get("page"), 20)
    enterprises = _reporting(await bindings_overview(user_id, with_agents=False))
    result = None
    if enterprises:
        result = await history_for_user(
            settings_of(request), user_id, uscc or None, page, size, status=wanted or None
        )
    statuses = [(s.value, s.label) for s in ReportStatus]
    return render(
        request,
        "reports.html",
        result=result,
        enterprises=enterprises,
        uscc=uscc,
        wanted=wanted,
        statuses=statuses,
        page=page,
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/reports/new", new)
    app.router.add_post("/reports/confirm", confirm)
    app.router.add_post("/reports", create)
    app.router.add_get("/reports", history)
    app.router.add_get("/reports/{id}", show)
    app.router.add_get("/reports/{id}/status", status)
