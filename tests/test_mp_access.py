"""Access control of the mini-program and window API: a matrix over every route, and a
hypothesis state machine over two enterprises and their users that finds no cross-tenant 2xx."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from config.catalogue import DEPARTMENTS, DOMAINS_BY_NUMBER
from config.settings import Settings
from fakes.wechat import FakeWeChat
from models.user import User
from services.accounts.department_keys import create_department_key
from services.accounts.mp_sessions import end_session
from services.accounts.operators import create_operator
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    bind,
    bind_body,
    invite,
    login,
    make_enterprises,
    redeem,
    representative,
)
from tests.test_objection_support import PNG
from tests.test_openapi import api_routes

USCC_A = ENTERPRISES["A"][0]
OBJECTION_DOMAIN = 27
OBJECTION_DEPARTMENT = DOMAINS_BY_NUMBER[OBJECTION_DOMAIN].lead_department_code
OTHER_DEPARTMENT = next(d.code for d in DEPARTMENTS if d.code != OBJECTION_DEPARTMENT)


@dataclass
class World:
    """Enterprise A's resources, and a caller of each kind that must not reach them."""

    report_id: int
    agent_id: int
    agent_code: str
    hall_report_id: int
    callers: dict[str, dict[str, str]]
    enterprise_id: int = 1
    objection_id: int = 1
    event_id: int = 1
    # Objection routes: the agent without the scope holds only "reports"; and a department
    # the ticket is not routed to.
    objection_callers: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    # The report holds A and its related A2: an agent with the reports scope on A only.
    report_callers: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return dataclasses.replace(settings, objection_files_dir=tmp_path / "objections")


async def raise_objection(cli, headers: dict[str, str], enterprise_id: int, report_id: int) -> dict:  # type: ignore[no-untyped-def]
    """An objection of A about a domain of its report, with an image."""
    form = aiohttp.FormData()
    fields = {"enterprise_id": enterprise_id, "kind": "correction", "text": "处罚信息有误",
              "domain": OBJECTION_DOMAIN, "report_id": report_id}  # fmt: skip
    for name, value in fields.items():
        form.add_field(name, str(value))
    form.add_field("images", PNG, filename="a.png", content_type="image/png")
    r = await cli.post("/api/mp/objections", data=form, headers=headers)
    assert r.status == 201, await r.text()
    return await r.json()


@pytest.fixture
async def world(mp_cli, fake_wechat: FakeWeChat, redis: Redis) -> World:
    enterprise_id = (await make_enterprises())["A"].id
    rep = await representative(mp_cli, fake_wechat, "A", "o_rep_a")
    await bind(mp_cli, rep, "A2")  # the same person represents the subsidiary
    r = await mp_cli.post("/api/mp/reports", json={"uscc": USCC_A, "related": True},
                          headers=auth(rep))  # fmt: skip
    assert (await r.json())["excluded"] == []
    report_id = (await r.json())["id"]
    revoked = await login(mp_cli, fake_wechat, "o_revoked")
    made = await invite(mp_cli, rep, "A", ["reports", "objections"])
    await redeem(mp_cli, revoked, made["code"])
    await mp_cli.delete(f"/api/mp/agents/{made['agent']['id']}", headers=auth(rep))
    no_scope = await login(mp_cli, fake_wechat, "o_objections_only")
    await redeem(mp_cli, no_scope, (await invite(mp_cli, rep, "A", ["objections"]))["code"])
    target = await invite(mp_cli, rep, "A", ["reports"])  # a pending agent to revoke
    other = await representative(mp_cli, fake_wechat, "B", "o_rep_b")
    await mp_cli.post("/api/mp/reports", json={"uscc": ENTERPRISES["B"][0]}, headers=auth(other))
    expired = await login(mp_cli, fake_wechat, "o_expired")
    await end_session(redis, expired)  # as if its TTL had run out
    hall = await create_operator("窗口A", "hall")
    other_hall = await create_operator("窗口B", "terminal")
    r = await mp_cli.post(
        "/api/hall/reports",
        json={"uscc": USCC_A, "consent": {"legal_rep_id_number": ENTERPRISES["A"][3]}},
        headers=auth(hall.key),
    )
    hall_report_id = (await r.json())["id"]
    objection = await raise_objection(mp_cli, auth(rep), enterprise_id, report_id)
    reports_only = await login(mp_cli, fake_wechat, "o_reports_only")
    await redeem(mp_cli, reports_only, (await invite(mp_cli, rep, "A", ["reports"]))["code"])
    return World(
        report_id=report_id,
        agent_id=target["agent"]["id"],
        agent_code=made["code"],
        hall_report_id=hall_report_id,
        enterprise_id=enterprise_id,
        objection_id=objection["id"],
        event_id=objection["timeline"][0]["id"],
        report_callers={"agent of A without A2": auth(reports_only)},
        objection_callers={
            "agent without the scope": auth(reports_only),
            "another department's key": auth((await create_department_key(OTHER_DEPARTMENT)).key),
        },
        callers={
            "no token": {},
            "expired token": auth(expired),
            "another enterprise's user": auth(other),
            "revoked agent": auth(revoked),
            "agent without the scope": auth(no_scope),
            "another window's key": auth(other_hall.key),
        },
    )


def matrix_routes(w: World) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """Every route that acts on enterprise A or its resources: (method, route, path, body)."""
    agent = {"uscc": USCC_A, "name": "甲", "phone": "13900000000", "scopes": ["reports"],
             "expires_at": "2030-01-01"}  # fmt: skip
    hall = {"uscc": USCC_A, "consent": {"legal_rep_id_number": "1"}}
    mp_ticket, dept_ticket = (
        f"/api/mp/objections/{w.objection_id}",
        f"/api/dept/objections/{w.objection_id}",
    )
    image = f"/events/{w.event_id}/attachments/1"
    objection = {
        "enterprise_id": w.enterprise_id,
        "kind": "correction",
        "text": "有误",
        "domain": OBJECTION_DOMAIN,
        "report_id": w.report_id,
    }
    return [
        ("GET", "/api/mp/reports", f"/api/mp/reports?uscc={USCC_A}", None),
        ("POST", "/api/mp/reports", "/api/mp/reports", {"uscc": USCC_A, "domains": "all"}),
        ("GET", "/api/mp/reports/{id}", f"/api/mp/reports/{w.report_id}", None),
        ("POST", "/api/mp/bindings", "/api/mp/bindings",
         bind_body("A", id_number="500103198001019999")),
        ("GET", "/api/mp/bindings", "/api/mp/bindings", None),
        ("POST", "/api/mp/agents", "/api/mp/agents", agent),
        ("POST", "/api/mp/agents/redeem", "/api/mp/agents/redeem", {"code": w.agent_code}),
        ("DELETE", "/api/mp/agents/{id}", f"/api/mp/agents/{w.agent_id}", None),
        ("POST", "/api/hall/reports", "/api/hall/reports", hall),
        ("GET", "/api/hall/reports/{id}", f"/api/hall/reports/{w.hall_report_id}", None),
        ("POST", "/api/dept/records", "/api/dept/records", None),
        ("GET", "/api/dept/quality", "/api/dept/quality", None),
        ("POST", "/api/mp/objections", "/api/mp/objections", objection),
        ("GET", "/api/mp/objections", "/api/mp/objections", None),
        ("GET", "/api/mp/objections/records", "/api/mp/objections/records?enterprise_id="
         f"{w.enterprise_id}", None),
        ("GET", "/api/mp/objections/{id}", mp_ticket, None),
        ("POST", "/api/mp/objections/{id}/close", f"{mp_ticket}/close", None),
        ("GET", "/api/mp/objections/{id}/events/{event_id}/attachments/{n}", mp_ticket + image,
         None),
        ("POST", "/api/mp/subscriptions", "/api/mp/subscriptions", {"template_id": "tmpl-1"}),
        ("GET", "/api/dept/objections", "/api/dept/objections", None),
        ("GET", "/api/dept/objections/{id}", dept_ticket, None),
        ("POST", "/api/dept/objections/{id}/accept", f"{dept_ticket}/accept", None),
        ("POST", "/api/dept/objections/{id}/reject", f"{dept_ticket}/reject", {"note": "不予受理"}),
        ("POST", "/api/dept/objections/{id}/handover", f"{dept_ticket}/handover",
         {"department": OBJECTION_DEPARTMENT}),
        ("POST", "/api/dept/objections/{id}/resolve", f"{dept_ticket}/resolve",
         {"resolution": "answered", "note": "已核实"}),
        ("POST", "/api/dept/objections/{id}/close", f"{dept_ticket}/close", None),
        ("GET", "/api/dept/objections/{id}/events/{event_id}/attachments/{n}", dept_ticket + image,
         None),
        ("POST", "/api/mp/logout", "/api/mp/logout", None),  # last: it ends the session
    ]  # fmt: skip


def callers_for(w: World, route: str) -> dict[str, dict[str, str]]:
    """The callers that must not reach A through `route`."""
    if route == "/api/mp/reports/{id}":
        return {**w.callers, **w.report_callers}
    if "/objections" not in route:
        return w.callers
    return {**w.callers, **w.objection_callers}


# Routes open to anyone, and routes that act only on the caller's own account: for these a
# caller holding such an account gets 2xx, but nothing of enterprise A (checked below).
PUBLIC = {("POST", "/api/mp/login"), ("GET", "/api/mp/domains"), ("GET", "/api/openapi.json")}
SESSION_HOLDERS = ("another enterprise's user", "revoked agent", "agent without the scope")
OWN_ACCOUNT = {
    ("POST", "/api/mp/logout"): SESSION_HOLDERS,
    ("GET", "/api/mp/bindings"): SESSION_HOLDERS,
    ("GET", "/api/mp/objections"): SESSION_HOLDERS,
    ("POST", "/api/mp/subscriptions"): SESSION_HOLDERS,
    ("GET", "/api/dept/objections"): ("another department's key",),
}
# Another enterprise's ticket is answered as an unknown one (404), so its existence stays hidden.
HIDDEN = {
    ("GET", "/api/mp/reports/{id}"),
    ("GET", "/api/hall/reports/{id}"),
    ("GET", "/api/mp/objections/{id}"),
    ("POST", "/api/mp/objections/{id}/close"),
    ("GET", "/api/mp/objections/{id}/events/{event_id}/attachments/{n}"),
}


def own_view_is_clean(who: str, route: str, text: str) -> bool:
    """What a caller sees of their own account shows nothing of A beyond what they hold."""
    if who == "agent without the scope" and "/objections" not in route:
        return '"agents"' not in text and '"reports"' not in text  # bound to A, for objections
    return ENTERPRISES["A"][1] not in text and USCC_A not in text


def test_the_matrix_covers_every_api_route(settings: Settings):
    world = World(1, 2, "X", 3, {})
    covered = {(method, route) for method, route, _, _ in matrix_routes(world)} | PUBLIC
    assert {(method.lower(), route) for method, route in covered} == api_routes(settings)


async def test_no_caller_of_another_kind_reaches_enterprise_a(mp_cli, world: World):
    failures = []
    for method, route, path, body in matrix_routes(world):
        refused = (401, 403, 404) if (method, route) in HIDDEN else (401, 403)
        for who, headers in callers_for(world, route).items():
            r = await mp_cli.request(method, path, json=body, headers=headers)
            text = await r.text()
            if who in OWN_ACCOUNT.get((method, route), ()):
                if r.status >= 300 or not own_view_is_clean(who, route, text):
                    failures.append(f"{who} {method} {path}: {r.status} {text[:120]}")
                continue
            if r.status not in refused:
                failures.append(f"{who} {method} {path}: {r.status} {text[:120]}")
            elif (await r.json()).keys() < {"code", "message"}:
                failures.append(f"{who} {method} {path}: not the error shape: {text[:120]}")
    assert not failures, "\n".join(failures)


async def test_no_token_and_an_expired_token_get_401(mp_cli, world: World):
    for method, _, path, body in matrix_routes(world):
        if path.startswith(("/api/hall", "/api/dept")):
            continue
        for who in ("no token", "expired token"):
            r = await mp_cli.request(method, path, json=body, headers=world.callers[who])
            assert r.status == 401, f"{who} {method} {path}: {await r.text()}"


async def test_the_public_routes_answer_without_a_token(mp_cli):
    assert (await mp_cli.get("/api/mp/domains")).status == 200
    assert (await mp_cli.get("/api/openapi.json")).status == 200


async def test_the_legal_representative_reaches_everything_of_a(mp_cli, fake_wechat, world: World):
    rep = auth(await login(mp_cli, fake_wechat, "o_rep_a"))
    assert (await mp_cli.get(f"/api/mp/reports/{world.report_id}", headers=rep)).status == 200
    assert (await mp_cli.get(f"/api/mp/reports?uscc={USCC_A}", headers=rep)).status == 200
    assert (await mp_cli.delete(f"/api/mp/agents/{world.agent_id}", headers=rep)).status == 200
    ticket = f"/api/mp/objections/{world.objection_id}"
    assert (await mp_cli.get(ticket, headers=rep)).status == 200
    image = await mp_cli.get(f"{ticket}/events/{world.event_id}/attachments/1", headers=rep)
    assert image.status == 200 and await image.read() == PNG
    owner = auth((await create_department_key(OBJECTION_DEPARTMENT)).key)
    assert (
        await mp_cli.get(f"/api/dept/objections/{world.objection_id}", headers=owner)
    ).status == 200
    assert await User.filter(mp_openid="o_rep_a").count() == 1
