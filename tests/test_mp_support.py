"""Helpers for the mini-program tests: log in through the fake WeChat, make and bind enterprises.

(No tests here: named test_* so that it sits with the modules that use it.)
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from stdnum.cn import uscc as stdnum_uscc

from fakes.wechat import FakeWeChat
from models.enterprise import Enterprise, EnterpriseRelation
from models.enums import RelationKind
from services.identity import hash_id_number

ID_HASH_KEY = "test-id-hash-key"  # the settings fixture's


def valid_uscc(body: str) -> str:
    return body + stdnum_uscc.calc_check_digit(body)


# Two enterprises of one group (A controls A2) and one unrelated enterprise (B).
ENTERPRISES = {
    "A": (valid_uscc("91500103MA5U7R6P0"), "重庆甲科技股份有限公司", "张三", "500103198001011234"),
    "A2": (
        valid_uscc("91500103MA5U7R6Q0"),
        "重庆甲科技（子）有限公司",
        "李四",
        "500103198502022345",
    ),
    "B": (valid_uscc("91500105MA5U8X1Y0"), "重庆乙贸易有限公司", "王五", "50010519900303345X"),
}


async def make_enterprises() -> dict[str, Enterprise]:
    made = {}
    for key, (uscc, name, rep, id_number) in ENTERPRISES.items():
        made[key] = await Enterprise.create(
            uscc=uscc, name=name, legal_rep_name=rep, district="渝中区",
            legal_rep_id_hash=hash_id_number(ID_HASH_KEY, id_number),
        )  # fmt: skip
    await EnterpriseRelation.create(
        parent=made["A"], child=made["A2"], kind=RelationKind.SUBSIDIARY
    )
    return made


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(cli: TestClient, fake: FakeWeChat, openid: str, unionid: str | None = None) -> str:
    code = fake.issue_js_code(openid, unionid)
    r = await cli.post("/api/mp/login", json={"code": code})
    assert r.status == 200, await r.text()
    return (await r.json())["token"]


def bind_body(key: str, **changes: Any) -> dict[str, Any]:
    uscc, name, rep, id_number = ENTERPRISES[key]
    body = {"uscc": uscc, "enterprise_name": name, "legal_rep_name": rep, "id_number": id_number}
    return {**body, **changes}


async def bind(cli: TestClient, token: str, key: str) -> dict[str, Any]:
    r = await cli.post("/api/mp/bindings", json=bind_body(key), headers=auth(token))
    assert r.status == 201, await r.text()
    return await r.json()


async def invite(
    cli: TestClient, token: str, key: str, scopes: list[str] | None = None, **changes: Any
) -> dict[str, Any]:
    expires = (date.today() + timedelta(days=180)).isoformat()
    body = {"uscc": ENTERPRISES[key][0], "name": "赵六", "phone": "13812345678",
            "scopes": scopes or ["reports"], "expires_at": expires, **changes}  # fmt: skip
    r = await cli.post("/api/mp/agents", json=body, headers=auth(token))
    assert r.status == 201, await r.text()
    return await r.json()


async def redeem(cli: TestClient, token: str, code: str) -> dict[str, Any]:
    r = await cli.post("/api/mp/agents/redeem", json={"code": code}, headers=auth(token))
    assert r.status == 201, await r.text()
    return await r.json()
