"""The department console (/dept/): the objection inbox, one ticket with its timeline and photos,
and the actions on it. Forms in, pages out; every rule is services.objections.console's, which
calls the same lifecycle as the department API."""

from __future__ import annotations

from aiohttp import web

from config import clock
from handlers.json_api import path_id
from handlers.keys import REDIS, SETTINGS
from handlers.ops_stats import bar_rows
from handlers.staff.session import render_staff, staff_page
from models.enums import ObjectionKind, ObjectionStatus
from models.staff import DEPARTMENT_ROLES, StaffRole
from services.accounts import department_key_admin
from services.accounts.staff import StaffIdentity
from services.errors import ServiceError
from services.ingest import history, record_search
from services.objections import console, lifecycle

RECORD_FIELDS = ("decision_no", "authority", "decision_date", "summary")
KINDS = [{"code": k.value, "label": k.label} for k in ObjectionKind]
STATUSES = [{"code": s.value, "label": s.label} for s in ObjectionStatus]
# A photo is shown as an image and nothing else: no script, no plugin, no sniffing.
ATTACHMENT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
    "X-Content-Type-Options": "nosniff",
}


@staff_page(*DEPARTMENT_ROLES)
async def inbox(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    kind, status = request.query.get("kind", ""), request.query.get("status", "")
    items = await console.inbox(who, clock.today(), kind=kind, status=status)
    return render_staff(request, "dept_inbox.html", items=items, kinds=KINDS, statuses=STATUSES,
                        kind=kind, wanted_status=status,
                        handed=request.query.get("handed", "")[:32])  # fmt: skip


async def _ticket_page(
    request: web.Request, who: StaffIdentity, status: int = 200, **context: object
) -> web.Response:
    item = await console.ticket(who, path_id(request), clock.today())
    return render_staff(request, "dept_ticket.html", status=status, o=item,
                        done=request.query.get("done") == "1", **context)  # fmt: skip


@staff_page(*DEPARTMENT_ROLES)
async def ticket(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    return await _ticket_page(request, who)


@staff_page(*DEPARTMENT_ROLES)
async def act(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    form = await request.post()
    action = request.match_info["action"]
    changes = {f: str(form.get(f, "")).strip() for f in RECORD_FIELDS}
    try:
        objection = await console.act(
            request.app[REDIS], request.app[SETTINGS], who, path_id(request), action,
            note=str(form.get("note", "")), resolution=str(form.get("resolution", "")),
            record_changes={f: v for f, v in changes.items() if v} or None,
            to_department=str(form.get("department", "")),
        )  # fmt: skip
    except ServiceError as exc:
        if exc.status in (401, 403, 404):
            raise
        return await _ticket_page(request, who, status=exc.status, error=exc.message,
                                  failed_action=action)  # fmt: skip
    if action == "handover":  # the ticket is the other department's now
        raise web.HTTPSeeOther(f"/dept/?handed={objection.ticket_no}")
    raise web.HTTPSeeOther(f"/dept/objections/{objection.id}?done=1")


@staff_page(*DEPARTMENT_ROLES)
async def attachment(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    department = await console.department_of(who)
    objection = await lifecycle.objection_for_department(department, path_id(request))
    data, content_type = await lifecycle.attachment(
        objection, path_id(request, "event_id"), path_id(request, "n"), request.app[SETTINGS]
    )
    return web.Response(body=data, content_type=content_type, headers=ATTACHMENT_HEADERS)


@staff_page(*DEPARTMENT_ROLES)
async def pushes(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    department = await console.department_of(who)
    batches = await history.push_history(department.code)
    return render_staff(request, "dept_pushes.html", batches=batches)


@staff_page(*DEPARTMENT_ROLES)
async def rejected_csv(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    department = await console.department_of(who)
    batch_id = request.match_info["batch_id"]
    body = await history.rejected_rows_csv(department.code, batch_id)
    # Found, so the id is one the service made (letters, digits and dashes): safe in the header.
    disposition = f'attachment; filename="rejected-{batch_id}.csv"'
    return web.Response(body=body, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": disposition})  # fmt: skip


@staff_page(*DEPARTMENT_ROLES)
async def quality(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    department = await console.department_of(who)
    figures = await history.quality_dashboard(department.code, clock.today())
    months = figures["late"]["by_month"][-12:]
    chart = bar_rows([(m["month"], round(m["share"] * 100, 1)) for m in months], label_width=90)
    return render_staff(request, "dept_quality.html", q=figures, chart=chart)


@staff_page(*DEPARTMENT_ROLES)
async def records(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    department = await console.department_of(who)
    asked = {k: request.query.get(k, "").strip()[:64] for k in ("uscc", "decision_no", "date")}
    try:
        found = await record_search.search_records(department.id, uscc=asked["uscc"],
                                                   decision_no=asked["decision_no"],
                                                   decided_on=asked["date"])  # fmt: skip
    except ServiceError as exc:
        return render_staff(request, "dept_records.html", status=exc.status, asked=asked,
                            found=[], error=exc.message)  # fmt: skip
    return render_staff(request, "dept_records.html", asked=asked, found=found)


@staff_page(*DEPARTMENT_ROLES)
async def record_page(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    department = await console.department_of(who)
    item = await record_search.record_history(department.id, path_id(request))
    return render_staff(request, "dept_record.html", r=item)


@staff_page(StaffRole.DEPT_ADMIN)
async def keys(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    return render_staff(
        request, "dept_keys.html", keys=await department_key_admin.department_keys(who)
    )


@staff_page(StaffRole.DEPT_ADMIN)
async def create_key(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    label = str((await request.post()).get("label", ""))
    try:
        new = await department_key_admin.issue_key(who, label)
    except ServiceError as exc:
        if exc.status not in (400, 422):  # a form to correct, shown again
            raise
        listed = await department_key_admin.department_keys(who)
        return render_staff(request, "dept_keys.html", status=400, keys=listed, error=exc.message)
    # Shown in this answer only (never stored, never in a redirect's URL), as `dept create-key`.
    listed = await department_key_admin.department_keys(who)
    return render_staff(request, "dept_keys.html", keys=listed, new=new)


@staff_page(StaffRole.DEPT_ADMIN)
async def revoke_key(request: web.Request, who: StaffIdentity) -> web.StreamResponse:
    await department_key_admin.revoke_key(who, path_id(request))
    raise web.HTTPSeeOther("/dept/keys")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/dept/keys", keys)
    r.add_post("/dept/keys", create_key)
    r.add_post("/dept/keys/{id}/revoke", revoke_key)
    r.add_get("/dept/records", records)
    r.add_get("/dept/records/{id}", record_page)
    r.add_get("/dept/pushes", pushes)
    r.add_get("/dept/pushes/{batch_id}/rejected.csv", rejected_csv)
    r.add_get("/dept/quality", quality)
    r.add_get("/dept/", inbox)
    r.add_get("/dept/objections/{id}", ticket)
    r.add_post("/dept/objections/{id}/{action}", act)
    r.add_get("/dept/objections/{id}/events/{event_id}/attachments/{n}", attachment)
