"""Binding an enterprise as its legal representative, authorising and revoking agents, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from fakes.wechat import FakeWeChat
from models.audit import AuditEntry
from models.enums import BindingRole
from models.user import Binding, User
from services.accounts import bindings
from services.accounts.bindings import (
    bind_legal_representative,
    create_agent_invite,
    redeem_agent_invite,
    revoke_agent,
)
from services.accounts.lockout import BindingFailed, BindingLocked
from services.errors import Forbidden
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


@pytest.fixture
def keys(settings):  # type: ignore[no-untyped-def]
    bindings.configure(settings)


async def test_the_legal_representative_binds_with_the_right_details(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_rep")
    body = await bind(mp_cli, token, "A")
    assert body["role"] == "legal_representative" and body["role_label"] == "法定代表人"
    assert body["enterprise"]["uscc"] == ENTERPRISES["A"][0]
    assert body["scopes"] == ["reports", "objections"]
    r = await mp_cli.get("/api/mp/bindings", headers=auth(token))
    [item] = (await r.json())["items"]
    assert item["enterprise"]["name"] == ENTERPRISES["A"][1] and item["agents"] == []
    assert await AuditEntry.filter(action="binding.created", object_id=str(body["id"])).exists()


async def test_names_match_however_the_brackets_and_spaces_are_typed(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_rep")
    body = bind_body(
        "A2", enterprise_name="重庆甲科技(子)有限公司 ", id_number="500103198502022345"
    )
    r = await mp_cli.post("/api/mp/bindings", json=body, headers=auth(token))
    assert r.status == 201, await r.text()


@pytest.mark.parametrize(
    "change",
    [
        {"id_number": "500103198001011235"},
        {"legal_rep_name": "张四"},
        {"enterprise_name": "重庆丙公司"},
        {"uscc": ENTERPRISES["B"][0]},  # another enterprise's USCC with A's details
    ],
)
async def test_wrong_details_are_refused_with_one_message_and_nothing_is_bound(
    mp_cli, fake_wechat: FakeWeChat, change: dict
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_guess")
    r = await mp_cli.post("/api/mp/bindings", json=bind_body("A", **change), headers=auth(token))
    assert r.status == 403, await r.text()
    body = await r.json()
    assert body["code"] == "binding_mismatch" and "核验未通过" in body["message"]
    assert body["details"]["remaining_attempts"] == 4
    assert not await Binding.exists()


async def test_an_invalid_uscc_is_a_400_and_does_not_count(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_typo")
    for _ in range(6):
        r = await mp_cli.post("/api/mp/bindings", json=bind_body("A", uscc="915001"),
                              headers=auth(token))  # fmt: skip
        assert r.status == 400 and (await r.json())["code"] == "invalid_uscc"
    assert (await bind(mp_cli, token, "A"))["role"] == "legal_representative"


async def test_a_uscc_with_a_wrong_check_digit_is_a_422_and_does_not_count(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_digit")
    uscc = ENTERPRISES["A"][0]
    wrong = uscc[:-1] + ("1" if uscc[-1] != "1" else "2")
    for _ in range(6):
        r = await mp_cli.post("/api/mp/bindings", json=bind_body("A", uscc=wrong),
                              headers=auth(token))  # fmt: skip
        answer = await r.json()
        assert r.status == 422 and answer["code"] == "invalid_uscc", answer
        assert "校验码" in answer["message"]
    assert (await bind(mp_cli, token, "A"))["role"] == "legal_representative"


async def test_five_wrong_attempts_lock_binding_for_an_hour_for_that_user_only(
    mp_cli, fake_wechat: FakeWeChat, redis: Redis
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_guess")
    wrong = bind_body("A", id_number="500103198001019999")
    statuses = []
    for _ in range(5):
        r = await mp_cli.post("/api/mp/bindings", json=wrong, headers=auth(token))
        statuses.append(r.status)
    assert statuses == [403, 403, 403, 403, 429]
    r = await mp_cli.post("/api/mp/bindings", json=bind_body("A"), headers=auth(token))
    assert r.status == 429, await r.text()
    body = await r.json()
    assert body["code"] == "binding_locked" and "锁定" in body["message"]
    assert 3500 < int(r.headers["Retry-After"]) <= 3600
    # Another user is not locked out.
    other = await login(mp_cli, fake_wechat, "o_rep")
    assert (await bind(mp_cli, other, "A"))["role"] == "legal_representative"
    assert await AuditEntry.filter(action="binding.locked").count() == 1
    # After the hour, the right details bind.
    user = await User.get(mp_openid="o_guess")
    await redis.delete(f"binding:lock:user:{user.id}")
    assert (await bind(mp_cli, token, "A"))["role"] == "legal_representative"


async def test_a_success_in_between_does_not_reset_the_count(db, redis: Redis, keys):
    await make_enterprises()
    user = await User.create(mp_openid="o_mixed")
    a, b = ENTERPRISES["A"], ENTERPRISES["B"]
    for _ in range(2):
        with pytest.raises(BindingFailed):
            await bind_legal_representative(redis, user.id, b[0], b[1], b[2], "500105199003039999")
    await bind_legal_representative(redis, user.id, a[0], a[1], a[2], a[3])
    for _ in range(2):
        with pytest.raises(BindingFailed):
            await bind_legal_representative(redis, user.id, b[0], b[1], b[2], "500105199003039999")
    with pytest.raises(BindingLocked):
        await bind_legal_representative(redis, user.id, b[0], b[1], b[2], "500105199003039999")


async def test_the_plain_id_number_is_stored_nowhere(db, redis: Redis, keys):
    await make_enterprises()
    user = await User.create(mp_openid="o_rep")
    a = ENTERPRISES["A"]
    await bind_legal_representative(redis, user.id, a[0], a[1], a[2], a[3], channel="bot")
    with pytest.raises(BindingFailed):
        await bind_legal_representative(redis, user.id, a[0], a[1], a[2], "500103198001019999")
    stored = " ".join(str(row) for row in await AuditEntry.all().values())
    stored += " ".join(str(row) for row in await Binding.all().values())
    for key in await redis.keys("*"):
        stored += f" {key!r} {await _value(redis, key)!r}"
    assert a[3] not in stored and "500103198001019999" not in stored
    entry = await AuditEntry.get(action="binding.created")
    assert entry.detail["channel"] == "bot"


async def _value(redis: Redis, key: bytes) -> object:
    kind = await redis.type(key)
    return await redis.get(key) if kind == b"string" else kind


async def test_an_agent_is_authorised_redeems_the_code_and_sees_the_enterprise(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    made = await invite(mp_cli, rep, "A", scopes=["reports"])
    assert made["agent"]["phone"] == "138****5678" and made["agent"]["status"] == "pending"
    assert len(made["code"]) == 12
    agent = await login(mp_cli, fake_wechat, "o_agent")
    body = await redeem(mp_cli, agent, made["code"].lower()[:4] + "-" + made["code"][4:])
    assert body["role"] == "agent" and body["scopes"] == ["reports"]
    r = await mp_cli.get("/api/mp/bindings", headers=auth(agent))
    [item] = (await r.json())["items"]
    assert item["role_label"] == "经办人" and "agents" not in item
    r = await mp_cli.get("/api/mp/bindings", headers=auth(rep))
    [view] = (await r.json())["items"][0]["agents"]
    assert view["status"] == "active" and view["phone"] == "138****5678"
    row = await Binding.get(id=view["id"])
    assert "13812345678" not in (row.agent_phone_encrypted or "")
    assert made["code"] not in (row.invite_code_hash or "")
    actions = set(await AuditEntry.all().values_list("action", flat=True))
    assert {"agent.authorised", "agent.redeemed"} <= actions


async def test_a_code_is_redeemed_once(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    code = (await invite(mp_cli, rep, "A"))["code"]
    await redeem(mp_cli, await login(mp_cli, fake_wechat, "o_agent"), code)
    other = await login(mp_cli, fake_wechat, "o_other")
    r = await mp_cli.post("/api/mp/agents/redeem", json={"code": code}, headers=auth(other))
    assert r.status == 403 and (await r.json())["code"] == "binding_mismatch"


async def test_wrong_agent_codes_count_towards_the_same_lockout(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_guess")
    for code in ("AAAAAAAAAAAA", "BBBB", "", "CCCCCCCCCCCC"):
        r = await mp_cli.post("/api/mp/agents/redeem", json={"code": code}, headers=auth(token))
        assert r.status == 403
    r = await mp_cli.post(
        "/api/mp/bindings", json=bind_body("A", id_number="1"), headers=auth(token)
    )
    assert r.status == 429 and (await r.json())["code"] == "binding_locked"


async def test_only_the_legal_representative_authorises_agents(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    agent = await login(mp_cli, fake_wechat, "o_agent")
    await redeem(mp_cli, agent, (await invite(mp_cli, rep, "A"))["code"])
    stranger = await representative(mp_cli, fake_wechat, "B", "o_b")
    expires = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    body = {"uscc": ENTERPRISES["A"][0], "name": "钱七", "phone": "13900001111",
            "scopes": ["reports"], "expires_at": expires}  # fmt: skip
    for token in (agent, stranger):
        r = await mp_cli.post("/api/mp/agents", json=body, headers=auth(token))
        assert r.status == 403 and (await r.json())["code"] == "not_legal_representative"


# 400 for what the document rules out; 422 for what it allows but a rule refuses.
@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"phone": "1381234567"}, 400, "invalid_phone"),
        ({"phone": "23812345678"}, 400, "invalid_phone"),
        ({"scopes": []}, 400, "invalid_scopes"),
        ({"scopes": ["admin"]}, 400, "invalid_scopes"),
        ({"expires_at": 20270101}, 400, "invalid_expiry"),
        ({"expires_at": "2020-01-01"}, 422, "invalid_expiry"),
        ({"expires_at": "2999-01-01"}, 422, "invalid_expiry"),
        ({"expires_at": "明年"}, 422, "invalid_expiry"),
        ({"name": ""}, 400, "missing_field"),
        ({"name": " \u3000 "}, 422, "missing_field"),
    ],
)
async def test_an_invite_with_bad_details_is_refused_with_its_status_and_code(
    mp_cli, fake_wechat: FakeWeChat, change: dict, status: int, code: str
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    expires = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    body = {"uscc": ENTERPRISES["A"][0], "name": "钱七", "phone": "13900001111",
            "scopes": ["reports"], "expires_at": expires, **change}  # fmt: skip
    r = await mp_cli.post("/api/mp/agents", json=body, headers=auth(rep))
    assert r.status == status, await r.text()
    assert (await r.json())["code"] == code


async def test_revoking_an_agent_takes_effect_at_once(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    made = await invite(mp_cli, rep, "A")
    agent = await login(mp_cli, fake_wechat, "o_agent")
    await redeem(mp_cli, agent, made["code"])
    r = await mp_cli.delete(f"/api/mp/agents/{made['agent']['id']}", headers=auth(agent))
    assert r.status == 403  # an agent cannot revoke
    r = await mp_cli.delete(f"/api/mp/agents/{made['agent']['id']}", headers=auth(rep))
    assert r.status == 200, await r.text()
    assert (await r.json())["status"] == "revoked"
    r = await mp_cli.get("/api/mp/bindings", headers=auth(agent))
    assert (await r.json())["items"] == []
    assert await AuditEntry.filter(action="agent.revoked").exists()
    r = await mp_cli.delete("/api/mp/agents/999999", headers=auth(rep))
    assert r.status == 404


async def rep_of_a(redis: Redis, other_openid: str) -> tuple[int, User, User]:
    """Enterprise A's id, its bound legal representative, and another user."""
    ents = await make_enterprises()
    rep, other = await User.create(mp_openid="o_rep"), await User.create(mp_openid=other_openid)
    a = ENTERPRISES["A"]
    await bind_legal_representative(redis, rep.id, a[0], a[1], a[2], a[3])
    return ents["A"].id, rep, other


async def invite_for(
    redis: Redis, rep: User, enterprise_id: int, scopes: list[str]
) -> tuple[Binding, str]:
    """An agent invite of the enterprise, valid for 30 days: its pending binding and code."""
    expires = datetime.now(UTC) + timedelta(days=30)
    return await create_agent_invite(
        redis, rep.id, enterprise_id, "赵六", "13812345678", scopes, expires
    )


async def test_a_pending_invite_revoked_before_redemption_cannot_be_redeemed(
    db, redis: Redis, keys
):
    enterprise_id, rep, agent = await rep_of_a(redis, "o_agent")
    binding, code = await invite_for(redis, rep, enterprise_id, ["reports"])
    await revoke_agent(rep.id, binding.id)
    with pytest.raises(BindingFailed):
        await redeem_agent_invite(redis, agent.id, code)


async def test_an_expired_agent_loses_access_and_a_new_code_rebinds_them(db, redis: Redis, keys):
    enterprise_id, rep, agent = await rep_of_a(redis, "o_agent")
    first, code = await invite_for(redis, rep, enterprise_id, ["reports"])
    await redeem_agent_invite(redis, agent.id, code)
    await Binding.filter(id=first.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    from services.access import require_scope

    with pytest.raises(Forbidden):
        await require_scope(agent.id, enterprise_id, "reports")
    second, code2 = await invite_for(redis, rep, enterprise_id, ["reports", "objections"])
    again = await redeem_agent_invite(redis, agent.id, code2)
    assert again.id == second.id and again.role == BindingRole.AGENT
    assert (await require_scope(agent.id, enterprise_id, "objections")).id == second.id


async def test_binding_as_legal_representative_upgrades_an_agent_binding(db, redis: Redis, keys):
    enterprise_id, rep, user = await rep_of_a(redis, "o_both")
    _, code = await invite_for(redis, rep, enterprise_id, ["reports"])
    await redeem_agent_invite(redis, user.id, code)
    a = ENTERPRISES["A"]
    binding = await bind_legal_representative(redis, user.id, a[0], a[1], a[2], a[3])
    assert binding.role == BindingRole.LEGAL_REPRESENTATIVE and binding.expires_at is None
    assert await Binding.filter(user_id=user.id).count() == 1


async def test_phone_numbers_use_the_configured_key_and_never_the_id_hash_key(
    db, redis: Redis, settings
):
    from dataclasses import replace

    from cryptography.fernet import Fernet, InvalidToken

    from services.jobs import build_registry
    from tests.wechat_engines import echo_engine

    key = Fernet.generate_key().decode()
    build_registry(
        replace(settings, phone_encryption_key=key), bot_engine=echo_engine
    )  # what a worker process does
    ents = await make_enterprises()
    rep = await User.create(mp_openid="o_rep")
    a = ENTERPRISES["A"]
    await bind_legal_representative(redis, rep.id, a[0], a[1], a[2], a[3])
    expires = datetime.now(UTC) + timedelta(days=30)
    binding, _ = await create_agent_invite(
        redis, rep.id, ents["A"].id, "赵六", "13812345678", ["reports"], expires
    )
    token = binding.agent_phone_encrypted.encode()
    assert Fernet(key.encode()).decrypt(token) == b"13812345678"
    bindings.configure(settings)  # no PHONE_ENCRYPTION_KEY: a key derived from ID_HASH_KEY
    with pytest.raises(InvalidToken):
        bindings.keys_from(settings).fernet.decrypt(token)
    with pytest.raises(RuntimeError, match="ID_HASH_KEY"):
        bindings.keys_from(replace(settings, id_hash_key=""))
