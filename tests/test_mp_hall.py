"""Service-hall windows and self-service terminals: operator keys, consent at the window."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fakes.wechat import FakeWeChat
from models.audit import AuditEntry
from models.enums import Channel
from models.report import Report
from models.user import Operator
from services.accounts.operators import authenticate_operator, create_operator
from tests.conftest import REDIS_URL
from tests.test_mp_support import (
    ENTERPRISES,
    auth,
    invite,
    login,
    make_enterprises,
    redeem,
    representative,
)

ROOT = Path(__file__).resolve().parent.parent
USCC_A, _, _, ID_A = ENTERPRISES["A"]


async def window_ask(cli: Any, key: str, consent: Any, **body: Any) -> Any:
    body = {"uscc": USCC_A, "domains": "all", "consent": consent, **body}
    return await cli.post("/api/hall/reports", json=body, headers=auth(key))


async def test_operator_create_prints_the_key_once_and_stores_only_its_hash(
    db, database_url: str, tmp_path: Path
):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "run.py", "operator", "create", "渝中区政务服务中心-3号窗口",
         "--channel", "hall"], cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    row = await Operator.get(name="渝中区政务服务中心-3号窗口")
    assert row.channel == Channel.HALL and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(await Operator.all().values())
    assert (await authenticate_operator(key)).id == row.id
    again = subprocess.run(
        [sys.executable, "run.py", "operator", "create", "渝中区政务服务中心-3号窗口",
         "--channel", "hall"], cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 2 and "已存在" in again.stderr


async def test_a_window_asks_with_the_legal_representatives_id_number(mp_cli):
    await make_enterprises()
    hall = await create_operator("窗口1", "hall")
    r = await window_ask(mp_cli, hall.key, {"legal_rep_id_number": ID_A})
    assert r.status == 202, await r.text()
    report = await Report.get(id=(await r.json())["id"])
    assert report.channel == Channel.HALL and report.operator == "窗口1"
    assert report.requester_id is None
    assert await AuditEntry.filter(action="report.requested", actor="operator:窗口1").exists()
    r = await mp_cli.get(f"/api/hall/reports/{report.id}", headers=auth(hall.key))
    assert r.status == 200 and (await r.json())["channel"] == "hall"


async def test_a_terminal_records_its_own_channel(mp_cli):
    await make_enterprises()
    terminal = await create_operator("自助终端-大厅东", "terminal")
    r = await window_ask(mp_cli, terminal.key, {"legal_rep_id_number": ID_A})
    assert r.status == 202, await r.text()
    assert (await Report.get(id=(await r.json())["id"])).channel == Channel.TERMINAL


def _by_name_and_phone(code: str) -> dict[str, str]:
    return {"agent_name": "赵六", "agent_phone": "138 1234 5678"}


def _by_code(code: str) -> dict[str, str]:
    return {"agent_code": f"{code[:4].lower()} {code[4:8]}-{code[8:]}"}  # as a person types it


@pytest.mark.parametrize(
    ("consent", "before_redemption"),
    [(_by_name_and_phone, 403), (_by_code, 202)],
    ids=["name-and-phone", "agent-code"],
)
async def test_an_agents_authorisation_is_accepted_at_the_window_until_revoked(
    mp_cli, fake_wechat: FakeWeChat, consent: Any, before_redemption: int
):
    """Name and phone need the redeemed binding; the code itself is the representative's
    authorisation, so it holds before the agent redeems it in the mini-program too."""
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    made = await invite(mp_cli, rep, "A", ["reports"])
    hall = await create_operator("窗口1", "hall")
    agent = consent(made["code"])
    assert (await window_ask(mp_cli, hall.key, agent)).status == before_redemption
    await redeem(mp_cli, await login(mp_cli, fake_wechat, "o_agent"), made["code"])
    assert (await window_ask(mp_cli, hall.key, agent)).status == 202
    await mp_cli.delete(f"/api/mp/agents/{made['agent']['id']}", headers=auth(rep))
    r = await window_ask(mp_cli, hall.key, agent)
    assert r.status == 403 and (await r.json())["code"] == "binding_mismatch"


async def test_an_agent_code_without_the_reports_scope_or_for_another_enterprise_is_refused(
    mp_cli, fake_wechat: FakeWeChat
):
    await make_enterprises()
    rep = await representative(mp_cli, fake_wechat)
    objections_only = await invite(mp_cli, rep, "A", ["objections"])
    for_a = await invite(mp_cli, rep, "A", ["reports"], phone="13912345678")
    hall = await create_operator("窗口1", "hall")
    r = await window_ask(mp_cli, hall.key, {"agent_code": objections_only["code"]})
    assert r.status == 403 and (await r.json())["code"] == "binding_mismatch"
    other = {"uscc": ENTERPRISES["B"][0]}
    r = await window_ask(mp_cli, hall.key, {"agent_code": for_a["code"]}, **other)
    assert r.status == 403 and (await r.json())["code"] == "binding_mismatch"
    assert not await Report.exists()


async def test_wrong_agent_codes_lock_the_window_like_wrong_id_numbers(mp_cli):
    await make_enterprises()
    hall = await create_operator("窗口1", "hall")
    statuses = [
        (await window_ask(mp_cli, hall.key, {"agent_code": "ABCDEFGHJKLM"})).status
        for _ in range(5)
    ]
    assert statuses == [403, 403, 403, 403, 429]
    r = await window_ask(mp_cli, hall.key, {"legal_rep_id_number": ID_A})
    assert r.status == 429 and "Retry-After" in r.headers


@pytest.mark.parametrize(
    "consent",
    [
        {"legal_rep_id_number": "500103198001019999"},
        {"agent_name": "赵六", "agent_phone": "13812345678"},
    ],
)
async def test_wrong_consent_is_refused_and_related_ones_are_excluded(mp_cli, consent: dict):
    await make_enterprises()
    hall = await create_operator("窗口1", "hall")
    r = await window_ask(mp_cli, hall.key, consent)
    assert r.status == 403, await r.text()
    assert not await Report.exists()
    r = await window_ask(mp_cli, hall.key, {"legal_rep_id_number": ID_A}, related=True)
    [excluded] = (await r.json())["excluded"]
    assert "关联企业" in excluded["reason"]


async def test_operator_keys_are_checked(mp_cli):
    await make_enterprises()
    hall = await create_operator("窗口1", "hall")
    other = await create_operator("窗口2", "hall")
    r = await mp_cli.post("/api/hall/reports", json={})
    assert r.status == 401 and (await r.json())["code"] == "operator_key_required"
    r = await window_ask(mp_cli, "op_hall_forged", {"legal_rep_id_number": ID_A})
    assert r.status == 403 and (await r.json())["code"] == "operator_key_invalid"
    report_id = (await (await window_ask(mp_cli, hall.key, {"legal_rep_id_number": ID_A})).json())[
        "id"
    ]
    r = await mp_cli.get(f"/api/hall/reports/{report_id}", headers=auth(other.key))
    assert r.status == 404, "another window's report answers like a missing one"
    await Operator.filter(name="窗口1").update(revoked_at=datetime.now(UTC))
    r = await mp_cli.get(f"/api/hall/reports/{report_id}", headers=auth(hall.key))
    assert r.status == 403 and (await r.json())["code"] == "operator_key_revoked"


async def test_five_wrong_consents_lock_the_window(mp_cli):
    await make_enterprises()
    hall = await create_operator("窗口1", "hall")
    statuses = [
        (await window_ask(mp_cli, hall.key, {"legal_rep_id_number": "1"})).status for _ in range(5)
    ]
    assert statuses == [403, 403, 403, 403, 429]
    r = await window_ask(mp_cli, hall.key, {"legal_rep_id_number": ID_A})
    assert r.status == 429 and "Retry-After" in r.headers


async def test_a_missing_consent_is_a_400(mp_cli):
    await make_enterprises()
    hall = await create_operator("窗口1", "hall")
    for consent in (None, {}, "x", {"agent_name": "赵六"}):
        r = await window_ask(mp_cli, hall.key, consent)
        assert r.status == 400 and (await r.json())["code"] == "consent_required"


async def test_an_operator_past_its_rate_limit_gets_429(aiohttp_client, settings, db, redis):
    from dataclasses import replace

    from handlers.app import create_app

    cli = await aiohttp_client(create_app(replace(settings, mp_rate_per_user=2)))
    hall = await create_operator("窗口1", "hall")
    statuses = [
        (await cli.get("/api/hall/reports/1", headers=auth(hall.key))).status for _ in range(3)
    ]
    assert statuses == [404, 404, 429]
