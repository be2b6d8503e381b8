"""Attack on related sections: a report of A with its related A2 holds A2's records, so an agent
with the reports scope on A only must not open it (nor get its signed PDF link)."""

from __future__ import annotations

from fakes.wechat import FakeWeChat
from models.user import Binding
from services.access import may_see_report
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    bind,
    invite,
    login,
    make_enterprises,
    redeem,
    representative,
)

USCC_A = ENTERPRISES["A"][0]


async def agent(mp_cli, fake: FakeWeChat, rep: str, openid: str, keys: list[str]) -> str:  # type: ignore[no-untyped-def]
    token = await login(mp_cli, fake, openid)
    for key in keys:
        await redeem(mp_cli, token, (await invite(mp_cli, rep, key, ["reports"]))["code"])
    return token


async def report_of_a_and_a2(mp_cli, rep: str) -> int:  # type: ignore[no-untyped-def]
    r = await mp_cli.post("/api/mp/reports", json={"uscc": USCC_A, "related": True},
                          headers=auth(rep))  # fmt: skip
    body = await r.json()
    assert r.status == 202 and body["excluded"] == [], body
    return body["id"]


async def test_an_agent_of_one_enterprise_cannot_open_a_report_holding_another(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat, "A", "o_rep")
    await bind(mp_cli, rep, "A2")
    report_id = await report_of_a_and_a2(mp_cli, rep)
    a_only = await agent(mp_cli, fake_wechat, rep, "o_agent_a", ["A"])
    both = await agent(mp_cli, fake_wechat, rep, "o_agent_both", ["A", "A2"])

    leaked = await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(a_only))
    assert leaked.status == 403, await leaked.text()
    body = await leaked.json()
    assert body["code"] == "not_authorised" and "报告授权" in body["message"]
    assert "pdf_url" not in await leaked.text() and ENTERPRISES["A2"][1] not in body["message"]

    for token in (rep, both):  # the requester, and an agent for every enterprise in it
        r = await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(token))
        assert r.status == 200, await r.text()
        assert [e["uscc"] for e in (await r.json())["related"]] == [ENTERPRISES["A2"][0]]


async def test_a_report_stays_visible_to_its_requester(mp_cli, fake_wechat: FakeWeChat):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat, "A", "o_rep")
    requester = await agent(mp_cli, fake_wechat, rep, "o_agent", ["A"])
    r = await mp_cli.post("/api/mp/reports", json={"uscc": USCC_A, "related": True},
                          headers=auth(requester))  # fmt: skip
    report_id = (await r.json())["id"]
    assert [e["uscc"] for e in (await r.json())["excluded"]] == [ENTERPRISES["A2"][0]]
    assert (await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(requester))).status == 200
    # Another agent with the same scope on A sees it too (A is the only enterprise in it).
    peer = await agent(mp_cli, fake_wechat, rep, "o_peer", ["A"])
    assert (await mp_cli.get(f"/api/mp/reports/{report_id}", headers=auth(peer))).status == 200


def test_the_rule_needs_every_enterprise_for_anyone_but_the_requester():
    a = Binding(user_id=7, enterprise_id=1, role="agent", scopes=["reports"])
    objections_only = Binding(user_id=7, enterprise_id=2, role="agent", scopes=["objections"])
    assert may_see_report(7, 7, [1, 2], {})
    assert may_see_report(7, None, [1], {1: a})
    assert not may_see_report(7, 8, [1, 2], {1: a})
    assert not may_see_report(7, 8, [1, 2], {1: a, 2: objections_only})
    assert not may_see_report(7, None, [1], {})
