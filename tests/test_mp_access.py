"""Access control of the mini-program and window API: a matrix over every route, and a
hypothesis state machine over two enterprises and their users that finds no cross-tenant 2xx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from fakes.wechat import FakeWeChat
from models.user import User
from services.mp_sessions import end_session
from services.operators import create_operator
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    bind,
    bind_body,
    invite,
    login,
    make_enterprises,
    redeem,
)

USCC_A = ENTERPRISES["A"][0]


@dataclass
class World:
    """Enterprise A's resources, and a caller of each kind that must not reach them."""

    report_id: int
    agent_id: int
    agent_code: str
    hall_report_id: int
    callers: dict[str, dict[str, str]]


@pytest.fixture
async def world(mp_cli, fake_wechat: FakeWeChat, redis: Redis) -> World:
    await make_enterprises()
    rep = await login(mp_cli, fake_wechat, "o_rep_a")
    await bind(mp_cli, rep, "A")
    r = await mp_cli.post("/api/mp/reports", json={"uscc": USCC_A}, headers=auth(rep))
    report_id = (await r.json())["id"]
    revoked = await login(mp_cli, fake_wechat, "o_revoked")
    made = await invite(mp_cli, rep, "A", ["reports", "objections"])
    await redeem(mp_cli, revoked, made["code"])
    await mp_cli.delete(f"/api/mp/agents/{made['agent']['id']}", headers=auth(rep))
    no_scope = await login(mp_cli, fake_wechat, "o_objections_only")
    await redeem(mp_cli, no_scope, (await invite(mp_cli, rep, "A", ["objections"]))["code"])
    target = await invite(mp_cli, rep, "A", ["reports"])  # a pending agent to revoke
    other = await login(mp_cli, fake_wechat, "o_rep_b")
    await bind(mp_cli, other, "B")
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
    return World(
        report_id=report_id,
        agent_id=target["agent"]["id"],
        agent_code=made["code"],
        hall_report_id=(await r.json())["id"],
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
        ("POST", "/api/mp/logout", "/api/mp/logout", None),  # last: it ends the session
    ]  # fmt: skip


# Routes open to anyone, and routes that act only on the caller's own account: for these a
# logged-in caller gets 2xx, but nothing of enterprise A (checked below).
PUBLIC = {("POST", "/api/mp/login"), ("GET", "/api/mp/domains"), ("GET", "/api/openapi.json")}
OWN_ACCOUNT = {("POST", "/api/mp/logout"), ("GET", "/api/mp/bindings")}
SESSION_HOLDERS = ("another enterprise's user", "revoked agent", "agent without the scope")


def own_view_is_clean(who: str, text: str) -> bool:
    """What a caller sees of their own account shows nothing of A beyond what they hold."""
    if who == "agent without the scope":  # bound to A, for objections only
        return '"agents"' not in text and '"reports"' not in text
    return ENTERPRISES["A"][1] not in text and USCC_A not in text


def test_the_matrix_covers_every_api_route(world_routes_of_app: set[tuple[str, str]]):
    covered = {(method, route) for method, route, _, _ in matrix_routes(World(1, 2, "X", 3, {}))}
    assert covered | PUBLIC == world_routes_of_app


@pytest.fixture
def world_routes_of_app(settings) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from handlers.app import create_app

    app = create_app(settings)
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }


async def test_no_caller_of_another_kind_reaches_enterprise_a(mp_cli, world: World):
    failures = []
    for method, route, path, body in matrix_routes(world):
        for who, headers in world.callers.items():
            r = await mp_cli.request(method, path, json=body, headers=headers)
            text = await r.text()
            if (method, route) in OWN_ACCOUNT and who in SESSION_HOLDERS:
                if r.status >= 300 or not own_view_is_clean(who, text):
                    failures.append(f"{who} {method} {path}: {r.status} {text[:120]}")
                continue
            if r.status not in (401, 403):
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
    assert await User.filter(mp_openid="o_rep_a").count() == 1
