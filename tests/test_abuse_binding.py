"""Attacks on the binding lockout: parallel guesses by one user, many users guessing at one
enterprise from one address, agent codes, window consents and the bot. Each attempt must be
counted before it is checked, so no race lets more than the limit be checked."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from fakes.wechat import FakeWeChat
from models.audit import AuditEntry
from models.user import Binding, SubscriptionGrant, User
from queues.registry import JobContext
from services.accounts import bindings
from services.accounts.bindings import bind_legal_representative
from services.accounts.lockout import (
    PER_ENTERPRISE,
    PER_IP,
    PER_USER,
    BindingFailed,
    BindingLocked,
)
from services.accounts.operators import create_operator
from services.wechat.notifier import notify_job
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    bind_body,
    invite,
    login,
    make_enterprises,
    representative,
)
from tests.wechat_support import SUBSCRIBE_TEMPLATE, wechat_settings

WRONG_ID = "500103198001019999"
USCC_A = ENTERPRISES["A"][0]


async def checked() -> int:
    """How many wrong attempts were checked (each one is audited)."""
    return await AuditEntry.filter(action="binding.failed").count()


async def test_parallel_guesses_check_at_most_the_limit_and_the_right_one_after_them_fails(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_guess")
    wrong = bind_body("A", id_number=WRONG_ID)

    # Sent at once, so the check-then-count race (if any) shows; their order is the server's.
    answers = await asyncio.gather(
        *(mp_cli.post("/api/mp/bindings", json=wrong, headers=auth(token)) for _ in range(29))
    )
    right = await mp_cli.post("/api/mp/bindings", json=bind_body("A"), headers=auth(token))

    statuses = [r.status for r in answers]
    assert await checked() <= PER_USER
    assert statuses.count(403) <= PER_USER and statuses.count(429) >= 29 - PER_USER
    assert set(statuses) <= {403, 429}
    assert right.status == 429  # the right ID number came too late to be checked
    assert not await Binding.exists()


async def test_many_users_from_one_address_cannot_wear_down_one_enterprise(
    mp_cli, fake_wechat: FakeWeChat, redis: Redis
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat, "A", "o_real_rep")
    wrong = bind_body("A", id_number=WRONG_ID)
    statuses = []
    for n in range(4):  # four throw-away users, five guesses each
        token = await login(mp_cli, fake_wechat, f"o_attacker_{n}")
        for _ in range(5):
            r = await mp_cli.post("/api/mp/bindings", json=wrong, headers=auth(token))
            statuses.append(r.status)
    fifth = await login(mp_cli, fake_wechat, "o_attacker_5")
    r = await mp_cli.post("/api/mp/bindings", json=bind_body("A"), headers=auth(fifth))

    assert r.status == 429, await r.text()
    assert (await r.json())["code"] == "binding_locked"
    assert await checked() == PER_ENTERPRISE
    # Each user's fifth guess locks that user (429); the enterprise locks at its tenth guess.
    assert statuses.count(403) == PER_ENTERPRISE - 2
    assert await Binding.filter(user__mp_openid="o_attacker_5").count() == 0
    # The legal representative is told, once, through the notify queue (OA message).
    [(_, fields)] = await redis.xrange("notify")
    alert = json.loads(fields[b"payload"])
    assert alert["user_id"] == (await User.get(mp_openid="o_real_rep")).id
    assert "安全提醒" in alert["text"] and ENTERPRISES["A"][1] in alert["text"]
    assert alert["oa_only"] is True
    # Another enterprise is not affected; the representative's own session still works.
    other = await login(mp_cli, fake_wechat, "o_b_rep")
    ok = await mp_cli.post("/api/mp/bindings", json=bind_body("B"), headers=auth(other))
    assert ok.status == 201, await ok.text()
    assert (await mp_cli.get("/api/mp/bindings", headers=auth(rep))).status == 200


async def test_one_address_is_limited_across_enterprises(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    statuses = []
    for n in range(PER_IP // PER_USER + 1):
        token = await login(mp_cli, fake_wechat, f"o_spray_{n}")
        for key in ("A", "B", "A2", "A", "B"):  # spread, so that no enterprise locks first
            body = bind_body(key, id_number=WRONG_ID)
            statuses.append((await mp_cli.post("/api/mp/bindings", json=body,
                                               headers=auth(token))).status)  # fmt: skip
    assert await checked() == PER_IP
    last = await login(mp_cli, fake_wechat, "o_spray_last")
    r = await mp_cli.post("/api/mp/bindings", json=bind_body("B"), headers=auth(last))
    assert r.status == 429


async def test_each_lock_of_the_same_user_lasts_twice_as_long(
    mp_cli, fake_wechat: FakeWeChat, redis: Redis
):
    await make_enterprises()
    token = await login(mp_cli, fake_wechat, "o_slow_guess")
    user = await User.get(mp_openid="o_slow_guess")
    wrong = bind_body("A", id_number=WRONG_ID)
    waits = []
    for _ in range(2):
        for _ in range(PER_USER):
            r = await mp_cli.post("/api/mp/bindings", json=wrong, headers=auth(token))
        assert r.status == 429
        waits.append(int(r.headers["Retry-After"]))
        await redis.delete(f"binding:lock:user:{user.id}")  # as if the lock had run out
        await redis.delete(f"binding:failures:enterprise:{USCC_A}")
    assert 3500 < waits[0] <= 3600 and 7100 < waits[1] <= 7200
    assert "2小时" in (await r.json())["message"]


async def test_parallel_wrong_agent_codes_check_at_most_the_limit(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat, "A")
    code = (await invite(mp_cli, rep, "A", ["reports"]))["code"]
    token = await login(mp_cli, fake_wechat, "o_code_guess")
    redeem = {"code": "ABCDEFGHJKLM"}
    answers = await asyncio.gather(
        *(mp_cli.post("/api/mp/agents/redeem", json=redeem, headers=auth(token)) for _ in range(29))
    )
    right = await mp_cli.post("/api/mp/agents/redeem", json={"code": code}, headers=auth(token))
    assert await checked() <= PER_USER
    assert {r.status for r in answers} <= {403, 429}
    assert right.status == 429  # the right code came too late to be checked
    assert await Binding.filter(user__mp_openid="o_code_guess").count() == 0


async def test_wrong_window_consents_are_limited_per_operator_and_per_enterprise(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    wrong = {"uscc": USCC_A, "consent": {"legal_rep_id_number": WRONG_ID}}
    hall = await create_operator("窗口甲", "hall")
    answers = await asyncio.gather(
        *(mp_cli.post("/api/hall/reports", json=wrong, headers=auth(hall.key)) for _ in range(30))
    )
    assert await checked() <= PER_USER
    assert {r.status for r in answers} <= {403, 429}
    # A second window takes the enterprise to its limit; a third, even with the right number,
    # is refused.
    other = await create_operator("窗口乙", "terminal")
    for _ in range(PER_USER):
        await mp_cli.post("/api/hall/reports", json=wrong, headers=auth(other.key))
    assert await checked() == PER_ENTERPRISE
    third = await create_operator("窗口丙", "hall")
    right = {"uscc": USCC_A, "consent": {"legal_rep_id_number": ENTERPRISES["A"][3]}}
    r = await mp_cli.post("/api/hall/reports", json=right, headers=auth(third.key))
    assert r.status == 429 and (await r.json())["code"] == "binding_locked"


async def test_bot_binding_shares_the_enterprise_limit(db, redis: Redis, settings):  # type: ignore[no-untyped-def]
    bindings.configure(settings)
    await make_enterprises()
    uscc, name, rep, id_number = ENTERPRISES["A"]
    users = [await User.create(oa_openid=f"o_bot_{n}") for n in range(3)]
    outcomes = []
    for user in users[:2]:
        for _ in range(PER_USER):
            try:
                await bind_legal_representative(redis, user.id, uscc, name, rep, WRONG_ID,
                                                channel="bot")  # fmt: skip
            except BindingFailed:
                outcomes.append("failed")
            except BindingLocked:
                outcomes.append("locked")
    assert outcomes.count("failed") == PER_ENTERPRISE - 2  # each user's fifth locks
    with pytest.raises(BindingLocked, match="锁定"):
        await bind_legal_representative(redis, users[2].id, uscc, name, rep, id_number,
                                        channel="bot")  # fmt: skip
    assert not await Binding.exists()


async def test_the_legal_representative_is_told_on_the_official_account(
    db, redis: Redis, settings_on_fake, fake_wechat: FakeWeChat
):  # type: ignore[no-untyped-def]
    settings = wechat_settings(settings_on_fake)
    bindings.configure(settings)
    fake_wechat.add_follower(settings.wechat_app_id, "o_rep_oa")
    fake_wechat.add_user(settings.mp_app_id, "o_rep_mp")
    fake_wechat.templates[SUBSCRIBE_TEMPLATE] = ("thing1",)
    await make_enterprises()
    uscc, name, rep_name, id_number = ENTERPRISES["A"]
    rep = await User.create(oa_openid="o_rep_oa", mp_openid="o_rep_mp",
                            oa_last_message_at=datetime.now(UTC))  # fmt: skip
    await bind_legal_representative(redis, rep.id, uscc, name, rep_name, id_number, channel="bot")
    await SubscriptionGrant.create(user=rep, template_id=SUBSCRIBE_TEMPLATE, remaining=1)
    for n in range(PER_ENTERPRISE):
        user = await User.create(oa_openid=f"o_guess_{n}")
        with pytest.raises((BindingFailed, BindingLocked)):
            await bind_legal_representative(redis, user.id, uscc, name, rep_name, WRONG_ID)

    [(entry_id, fields)] = await redis.xrange("notify")
    ctx = JobContext(redis, settings, "notify", "notify.send", entry_id.decode(), "1", 1, None)
    await notify_job()(ctx, json.loads(fields[b"payload"]))

    [sent] = fake_wechat.sent_to("o_rep_oa")
    assert sent.kind == "custom" and "安全提醒" in sent.payload["text"]["content"]
    assert fake_wechat.sent_to("o_rep_mp") == []  # objection-progress grants are not spent
    assert (await SubscriptionGrant.get(user=rep)).remaining == 1
