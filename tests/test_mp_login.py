"""Mini-program login: wx.login() code -> jscode2session at the (fake) WeChat -> our own token."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from fakes.wechat import FakeWeChat
from models.audit import AuditEntry
from models.user import User
from services.accounts.mp_sessions import get_session
from tests.test_mp_support import auth, login


async def test_a_code_logs_the_user_in_with_an_opaque_token_and_creates_the_user(
    mp_cli, fake_wechat: FakeWeChat, redis: Redis
):
    code = fake_wechat.issue_js_code("o_alice", "u_alice")
    r = await mp_cli.post("/api/mp/login", json={"code": code})
    assert r.status == 200, await r.text()
    body = await r.json()
    assert set(body) == {"token", "expires_in"} and body["expires_in"] == 7200
    user = await User.get(mp_openid="o_alice")
    assert user.unionid == "u_alice"
    session = await get_session(redis, body["token"])
    assert session is not None and session.user_id == user.id
    calls = fake_wechat.calls_to("/sns/jscode2session")
    assert len(calls) == 1 and calls[0].query["js_code"] == code
    assert await AuditEntry.filter(action="mp.login", object_id=str(user.id)).exists()


async def test_logging_in_again_finds_the_same_user(mp_cli, fake_wechat: FakeWeChat):
    first, second = (
        await login(mp_cli, fake_wechat, "o_bob"),
        await login(mp_cli, fake_wechat, "o_bob"),
    )
    assert first != second
    assert await User.filter(mp_openid="o_bob").count() == 1


async def test_a_code_can_be_used_only_once(mp_cli, fake_wechat: FakeWeChat):
    code = fake_wechat.issue_js_code("o_carol")
    assert (await mp_cli.post("/api/mp/login", json={"code": code})).status == 200
    r = await mp_cli.post("/api/mp/login", json={"code": code})
    assert r.status == 401, await r.text()
    assert (await r.json())["code"] == "wx_code_used"
    # The second try never reached WeChat: the code was claimed locally first.
    assert len(fake_wechat.calls_to("/sns/jscode2session")) == 1


@pytest.mark.parametrize(
    ("errcode", "status", "code", "words"),
    [
        (40029, 401, "wx_code_invalid", "登录凭证"),
        (45011, 429, "wx_rate_limited", "频繁"),
        (-1, 503, "wx_busy", "繁忙"),
        (40013, 502, "wechat_login_failed", "40013"),
    ],
)
async def test_wechat_errors_become_clear_chinese_messages(
    mp_cli, fake_wechat: FakeWeChat, errcode: int, status: int, code: str, words: str
):
    fake_wechat.fail_next("/sns/jscode2session", errcode)
    r = await mp_cli.post("/api/mp/login", json={"code": fake_wechat.issue_js_code("o_dan")})
    assert r.status == status, await r.text()
    body = await r.json()
    assert body["code"] == code and words in body["message"]
    if status == 429:
        assert r.headers["Retry-After"] == "60"


async def test_an_unknown_code_is_refused_as_invalid(mp_cli, fake_wechat: FakeWeChat):
    r = await mp_cli.post("/api/mp/login", json={"code": "not-a-code"})
    assert r.status == 401, await r.text()
    assert (await r.json())["code"] == "wx_code_invalid"


async def test_a_busy_wechat_leaves_the_code_usable_for_a_retry(mp_cli, fake_wechat: FakeWeChat):
    code = fake_wechat.issue_js_code("o_erin")
    fake_wechat.fail_next("/sns/jscode2session", -1)
    assert (await mp_cli.post("/api/mp/login", json={"code": code})).status == 503
    assert (await mp_cli.post("/api/mp/login", json={"code": code})).status == 200


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 42}, {"code": "x" * 500}])
async def test_a_missing_or_malformed_code_is_a_400(mp_cli, body: dict):
    r = await mp_cli.post("/api/mp/login", json=body)
    assert r.status == 400, await r.text()
    assert (await r.json())["code"] == "code_required"


async def test_a_code_of_spaces_is_refused_as_invalid_without_asking_wechat(
    mp_cli, fake_wechat: FakeWeChat
):
    r = await mp_cli.post("/api/mp/login", json={"code": " \x1d\u3000"})
    assert r.status == 401 and (await r.json())["code"] == "wx_code_invalid", await r.text()
    assert not fake_wechat.calls_to("/sns/jscode2session")


async def test_the_session_key_never_leaves_the_server_nor_reaches_the_log(
    mp_cli, fake_wechat: FakeWeChat, redis: Redis, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    code = fake_wechat.issue_js_code("o_frank")
    r = await mp_cli.post("/api/mp/login", json={"code": code})
    text = await r.text()
    session_key = fake_wechat.calls_to("/sns/jscode2session")[0].response["session_key"]
    assert session_key not in text and session_key not in caplog.text
    audit = [str(e.detail) for e in await AuditEntry.all()]
    assert all(session_key not in d for d in audit)


async def test_a_session_slides_forward_on_use_and_ends_at_logout(
    mp_cli, fake_wechat: FakeWeChat, redis: Redis
):
    token = await login(mp_cli, fake_wechat, "o_gina")
    [key] = [k async for k in redis.scan_iter("mp:session:*")]
    await redis.expire(key, 100)
    r = await mp_cli.get("/api/mp/bindings", headers=auth(token))
    assert r.status == 200, await r.text()
    assert await redis.ttl(key) > 7000
    assert (await mp_cli.post("/api/mp/logout", headers=auth(token))).status == 200
    r = await mp_cli.get("/api/mp/bindings", headers=auth(token))
    assert r.status == 401 and (await r.json())["code"] == "session_expired"


async def test_an_unreachable_wechat_answers_503_in_chinese(
    aiohttp_client, settings, db, redis: Redis
):
    from dataclasses import replace

    from handlers.app import create_app

    cli = await aiohttp_client(create_app(replace(settings, wechat_api_base="http://127.0.0.1:9")))
    r = await cli.post("/api/mp/login", json={"code": "abc"})
    assert r.status == 503, await r.text()
    assert (await r.json())["code"] == "wx_unreachable"
