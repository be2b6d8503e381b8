"""API quality: one error shape in Chinese, rate limits with Retry-After, CORS for configured
origins only, 503 during a Redis outage, an audit entry per action, and no personal data or
session_key in any answer or log line."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat import FakeWeChat
from handlers.app import create_app
from models.audit import AuditEntry
from services.accounts.operators import create_operator
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    bind_body,
    invite,
    login,
    make_enterprises,
    redeem,
    representative,
)


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/mp/nothing-here", None, 404),
        ("PUT", "/api/mp/reports", None, 405),
        ("POST", "/api/mp/login", "not json", 400),
        ("POST", "/api/mp/login", "[1, 2]", 400),
        ("GET", "/api/mp/reports/1", None, 401),
    ],
)
async def test_every_error_is_code_and_a_chinese_message(
    mp_cli, method: str, path: str, body: str | None, status: int
):
    r = await mp_cli.request(method, path, data=body, headers={"Content-Type": "application/json"})
    assert r.status == status, await r.text()
    answer = await r.json()
    assert set(answer) >= {"code", "message"} and is_chinese(answer["message"])


async def test_a_user_past_the_rate_limit_gets_429_with_retry_after(
    aiohttp_client, settings: Settings, db, redis: Redis, fake_wechat: FakeWeChat
):
    app = create_app(replace(settings, wechat_api_base=fake_wechat.base_url, mp_rate_per_user=5))
    cli = await aiohttp_client(app)
    token = await login(cli, fake_wechat, "o_busy")
    statuses = [(await cli.get("/api/mp/bindings", headers=auth(token))).status for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    r = await cli.get("/api/mp/bindings", headers=auth(token))
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert (await r.json())["code"] == "rate_limited"
    # Another user is not slowed down by the first.
    other = await login(cli, fake_wechat, "o_calm")
    assert (await cli.get("/api/mp/bindings", headers=auth(other))).status == 200


async def test_an_ip_past_the_rate_limit_gets_429_even_without_a_token(
    aiohttp_client, settings: Settings, db, redis: Redis
):
    cli = await aiohttp_client(create_app(replace(settings, mp_rate_per_ip=3)))
    statuses = [(await cli.get("/api/mp/reports")).status for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    r = await cli.post("/api/mp/login", json={"code": "x"})
    assert r.status == 429 and "Retry-After" in r.headers
    # The public catalogue is served from memory and not counted.
    assert (await cli.get("/api/mp/domains")).status == 200


async def test_cors_answers_only_configured_origins(aiohttp_client, settings: Settings, db, redis):
    allowed = "https://mp.credit.cq.gov.cn"
    cli = await aiohttp_client(
        create_app(replace(settings, cors_origins=f"{allowed}, https://x.y"))
    )
    preflight = {"Origin": allowed, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Authorization, Content-Type"}  # fmt: skip
    r = await cli.options("/api/mp/reports", headers=preflight)
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == allowed
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    r = await cli.get("/api/mp/domains", headers={"Origin": allowed})
    assert r.headers["Access-Control-Allow-Origin"] == allowed
    r = await cli.get("/api/mp/reports", headers={"Origin": allowed})  # an error answer too
    assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == allowed
    evil = "https://evil.example"
    r = await cli.options("/api/mp/reports", headers={**preflight, "Origin": evil})
    assert r.status == 403 and is_chinese((await r.json())["message"])
    r = await cli.get("/api/mp/domains", headers={"Origin": evil})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers


async def test_no_cors_at_all_when_no_origin_is_configured(cli):
    r = await cli.get("/api/mp/domains", headers={"Origin": "https://mp.credit.cq.gov.cn"})
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_a_redis_outage_answers_503_in_chinese_never_500(
    aiohttp_client, settings: Settings, db, fake_wechat: FakeWeChat, private_redis
):
    app_settings = replace(settings, redis_url=private_redis.url,
                           wechat_api_base=fake_wechat.base_url)  # fmt: skip
    cli = await aiohttp_client(create_app(app_settings))
    await make_enterprises()
    token = await login(cli, fake_wechat, "o_rep")
    private_redis.kill()
    requests = [
        ("GET", "/api/mp/bindings", None, auth(token)),
        ("POST", "/api/mp/reports", {"uscc": ENTERPRISES["A"][0]}, auth(token)),
        ("POST", "/api/mp/bindings", bind_body("A"), auth(token)),
        ("GET", "/api/mp/reports", None, {}),
        ("POST", "/api/mp/login", {"code": fake_wechat.issue_js_code("o_new")}, {}),
        ("POST", "/api/hall/reports", {"uscc": ENTERPRISES["A"][0]}, auth("op_hall_x")),
    ]
    for method, path, body, headers in requests:
        r = await cli.request(method, path, json=body, headers=headers)
        text = await r.text()
        assert r.status == 503, f"{method} {path}: {r.status} {text}"
        assert is_chinese((await r.json())["message"]) and "Traceback" not in text
    assert (await cli.get("/api/mp/domains")).status == 200  # needs no Redis


async def test_login_binding_authorisation_and_report_requests_are_audited(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    made = await invite(mp_cli, rep, "A")
    agent = await login(mp_cli, fake_wechat, "o_agent")
    await redeem(mp_cli, agent, made["code"])
    await mp_cli.post("/api/mp/reports", json={"uscc": ENTERPRISES["A"][0]}, headers=auth(agent))
    await mp_cli.delete(f"/api/mp/agents/{made['agent']['id']}", headers=auth(rep))
    actions = [e.action for e in await AuditEntry.all().order_by("id")]
    assert actions == ["mp.login", "binding.created", "agent.authorised", "mp.login",
                       "agent.redeemed", "report.requested", "agent.revoked"]  # fmt: skip


async def test_no_answer_and_no_log_line_holds_a_session_key_id_number_or_phone(
    mp_cli, fake_wechat: FakeWeChat, caplog: pytest.LogCaptureFixture
):
    """Plant the secrets, go through every flow (sad paths too), then scan everything."""
    caplog.set_level(logging.DEBUG)
    await make_enterprises()
    bodies: list[str] = []

    async def call(method: str, path: str, body: Any = None, token: str = "") -> Any:
        headers = auth(token) if token else {}
        r = await mp_cli.request(method, path, json=body, headers=headers)
        bodies.append(await r.text())
        return await r.json() if r.content_type == "application/json" else None

    rep = await login(mp_cli, fake_wechat, "o_rep")
    await call("POST", "/api/mp/bindings", bind_body("A", id_number="500103198001019999"), rep)
    await call("POST", "/api/mp/bindings", bind_body("A"), rep)
    phone = "13987654321"
    too_long = {"uscc": ENTERPRISES["A"][0], "name": "赵六", "phone": phone,
                "scopes": ["reports"], "expires_at": "2099-01-01"}  # fmt: skip
    await call("POST", "/api/mp/agents", too_long, rep)  # refused: longer than a year
    made = await invite(mp_cli, rep, "A", phone=phone)
    bodies.append(str(made))
    agent = await login(mp_cli, fake_wechat, "o_agent")
    await call("POST", "/api/mp/agents/redeem", {"code": made["code"]}, agent)
    await call("GET", "/api/mp/bindings", None, rep)
    await call("GET", "/api/mp/bindings", None, agent)
    report = await call("POST", "/api/mp/reports", {"uscc": ENTERPRISES["A"][0]}, agent)
    await call("GET", f"/api/mp/reports/{report['id']}", None, agent)
    await call("GET", "/api/mp/reports", None, agent)
    hall = await create_operator("窗口1", "hall")
    for consent in ({"legal_rep_id_number": ENTERPRISES["A"][3]},
                    {"agent_name": "赵六", "agent_phone": phone}):  # fmt: skip
        r = await mp_cli.post("/api/hall/reports", headers=auth(hall.key),
                              json={"uscc": ENTERPRISES["A"][0], "consent": consent})  # fmt: skip
        bodies.append(await r.text())
    session_keys = [
        c.response.get("session_key") for c in fake_wechat.calls_to("/sns/jscode2session")
    ]
    planted = [*filter(None, session_keys), ENTERPRISES["A"][3], "500103198001019999", phone]
    audit = " ".join(str(e.detail) for e in await AuditEntry.all())
    everything = "\n".join(bodies) + caplog.text + audit
    for secret in planted:
        assert secret not in everything, secret
    assert "139****4321" in "\n".join(bodies)  # the masked form is what people see


async def test_a_json_body_is_read_whole_however_it_is_sent_and_capped(mp_cli):
    async def chunks(data: bytes):  # type: ignore[no-untyped-def]
        for i in range(0, len(data), 7):
            yield data[i : i + 7]

    r = await mp_cli.post("/api/mp/login", data=chunks(b'{"code": ""}'),
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status == 400 and (await r.json())["code"] == "code_required"
    r = await mp_cli.post("/api/mp/login", data=chunks(b'{"code": "' + b"x" * 70000 + b'"}'))
    assert r.status == 400 and (await r.json())["code"] == "body_too_large"
