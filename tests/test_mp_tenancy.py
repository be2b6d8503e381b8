"""A hypothesis state machine over two related enterprises and six users: binding, agent codes,
revocation and reports (with their related sections or not) in any order. Every answer must
agree with a model of who may act for which enterprise; in particular no user ever gets a 2xx
for an enterprise they may not act for, nor a report holding one (services.access). The model
also counts wrong attempts per user, per enterprise and per address (services.accounts.lockout).

hypothesis drives the machine synchronously, from a worker thread; each request is handed to
the test's event loop, where the app, database and Redis live.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis
from stdnum.cn import uscc as stdnum_uscc

from config.settings import Settings
from fakes.wechat import FakeWeChat
from handlers.app import create_app
from models.enterprise import Enterprise, EnterpriseRelation
from models.enums import RelationKind
from services.accounts.lockout import PER_ENTERPRISE, PER_IP, PER_USER
from services.identity import hash_id_number

USERS = 6
KEY = "test-id-hash-key"  # the settings fixture's ID_HASH_KEY
_serial = itertools.count(1)


@dataclass
class Company:
    uscc: str
    name: str
    rep: str
    id_number: str


@dataclass
class Grant:
    binding_id: int
    role: str
    scopes: frozenset[str]


@dataclass
class Invite:
    company: int
    code: str
    binding_id: int
    scopes: frozenset[str]
    used: bool = False


@dataclass
class Report:
    enterprises: frozenset[int]
    report_id: int
    requester: int
    company: int  # the report's own enterprise


@dataclass
class Harness:
    loop: asyncio.AbstractEventLoop
    client: TestClient
    fake: FakeWeChat
    redis: Redis

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            r = await self.client.request(
                method, path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            return r.status, await r.json()

        return self.run(go())


class Tenancy(RuleBasedStateMachine):
    harness: Harness

    def __init__(self) -> None:
        super().__init__()
        self.companies: list[Company] = []
        self.tokens: list[str] = []
        self.grants: dict[tuple[int, int], Grant] = {}
        self.invites: list[Invite] = []
        self.reports: list[Report] = []
        # Wrong attempts per user, per company and (one address for all) per IP.
        self.failures: dict[int, int] = {}
        self.company_failures: dict[int, int] = {}
        self.ip_failures = 0

    @initialize()
    def set_up(self) -> None:
        h = self.harness
        run = next(_serial)
        for n, letter in enumerate("AB"):
            body = f"91500103{run:05d}M{letter}Q0"
            uscc = body + stdnum_uscc.calc_check_digit(body)
            id_number = f"5001031980010{n}{run % 1000:03d}X"
            company = Company(uscc, f"重庆{letter}{run}有限公司", f"法人{letter}", id_number)
            h.run(Enterprise.create(uscc=uscc, name=company.name, legal_rep_name=company.rep,
                                    legal_rep_id_hash=hash_id_number(KEY, id_number),
                                    district="渝中区"))  # fmt: skip
            self.companies.append(company)
        h.run(self._relate_and_forget_the_address())
        for n in range(USERS):
            code = h.fake.issue_js_code(f"o_{run}_{n}")
            status, body = h.call("POST", "/api/mp/login", "", {"code": code})
            assert status == 200, body
            self.tokens.append(body["token"])

    # --- the model ---

    def allows(self, user: int, company: int, scope: str) -> bool:
        grant = self.grants.get((user, company))
        return grant is not None and scope in grant.scopes

    def is_rep(self, user: int, company: int) -> bool:
        grant = self.grants.get((user, company))
        return grant is not None and grant.role == "legal_representative"

    async def _relate_and_forget_the_address(self) -> None:
        a, b = [await Enterprise.get(uscc=c.uscc) for c in self.companies]
        await EnterpriseRelation.create(parent=a, child=b, kind=RelationKind.SUBSIDIARY)
        # Every example's users share 127.0.0.1: each example starts with its count at zero.
        keys = [k async for k in self.harness.redis.scan_iter(match="binding:*:ip:*")]
        if keys:
            await self.harness.redis.delete(*keys)

    def locked(self, user: int, company: int | None = None) -> bool:
        return (
            self.failures.get(user, 0) >= PER_USER
            or self.ip_failures >= PER_IP
            or (company is not None and self.company_failures.get(company, 0) >= PER_ENTERPRISE)
        )

    def count_failure(self, user: int, status: int, company: int | None = None) -> None:
        self.failures[user] = self.failures.get(user, 0) + 1
        self.ip_failures += 1
        if company is not None:
            self.company_failures[company] = self.company_failures.get(company, 0) + 1
        assert status == (429 if self.locked(user, company) else 403), status

    # --- rules ---

    @rule(user=st.integers(0, USERS - 1), company=st.integers(0, 1), right=st.booleans())
    def bind(self, user: int, company: int, right: bool) -> None:
        c = self.companies[company]
        body = {"uscc": c.uscc, "enterprise_name": c.name, "legal_rep_name": c.rep,
                "id_number": c.id_number if right else "500103198001019999"}  # fmt: skip
        status, answer = self.harness.call("POST", "/api/mp/bindings", self.tokens[user], body)
        if self.locked(user, company):
            assert status == 429, answer
        elif right:
            assert status == 201, answer
            self.grants[(user, company)] = Grant(
                answer["id"], "legal_representative", frozenset({"reports", "objections"})
            )
        else:
            self.count_failure(user, status, company)

    @rule(user=st.integers(0, USERS - 1), company=st.integers(0, 1),
          scopes=st.sets(st.sampled_from(["reports", "objections"]), min_size=1))  # fmt: skip
    def invite(self, user: int, company: int, scopes: set[str]) -> None:
        body = {"uscc": self.companies[company].uscc, "name": "经办人", "phone": "13812345678",
                "scopes": sorted(scopes), "expires_at": _in_days(90)}  # fmt: skip
        status, answer = self.harness.call("POST", "/api/mp/agents", self.tokens[user], body)
        if self.is_rep(user, company):
            assert status == 201, answer
            self.invites.append(
                Invite(company, answer["code"], answer["agent"]["id"], frozenset(scopes))
            )
        else:
            assert status == 403, answer

    @rule(user=st.integers(0, USERS - 1), pick=st.integers(0, 50))
    def redeem(self, user: int, pick: int) -> None:
        if not self.invites:
            return
        inv = self.invites[pick % len(self.invites)]
        status, answer = self.harness.call(
            "POST", "/api/mp/agents/redeem", self.tokens[user], {"code": inv.code}
        )
        if self.locked(user):
            assert status == 429, answer
        elif inv.used:
            self.count_failure(user, status)
        elif (user, inv.company) in self.grants:
            assert status == 409, answer
        else:
            assert status == 201, answer
            inv.used = True
            self.grants[(user, inv.company)] = Grant(inv.binding_id, "agent", inv.scopes)

    @rule(user=st.integers(0, USERS - 1), pick=st.integers(0, 50))
    def revoke(self, user: int, pick: int) -> None:
        if not self.invites:
            return
        inv = self.invites[pick % len(self.invites)]
        status, answer = self.harness.call(
            "DELETE", f"/api/mp/agents/{inv.binding_id}", self.tokens[user]
        )
        if self.is_rep(user, inv.company):
            assert status == 200, answer
            inv.used = True  # a revoked code can no longer be redeemed
            for key, grant in list(self.grants.items()):
                if grant.binding_id == inv.binding_id:
                    del self.grants[key]
        else:
            assert status == 403, answer

    @rule(user=st.integers(0, USERS - 1), company=st.integers(0, 1), related=st.booleans())
    def ask_report(self, user: int, company: int, related: bool) -> None:
        body = {"uscc": self.companies[company].uscc, "domains": [1], "related": related}
        status, answer = self.harness.call("POST", "/api/mp/reports", self.tokens[user], body)
        if self.allows(user, company, "reports"):
            assert status == 202, answer
            other = 1 - company  # A's subsidiary is B; B's controlling shareholder is A
            with_other = related and self.allows(user, other, "reports")
            included = frozenset({company, other} if with_other else {company})
            self.reports.append(Report(included, answer["id"], user, company))
        else:
            assert status == 403, answer

    @rule(user=st.integers(0, USERS - 1), pick=st.integers(0, 50))
    def read_report(self, user: int, pick: int) -> None:
        if not self.reports:
            return
        report = self.reports[pick % len(self.reports)]
        status, answer = self.harness.call(
            "GET", f"/api/mp/reports/{report.report_id}", self.tokens[user]
        )
        # Its requester sees it; anyone else needs the reports scope for every enterprise in it.
        # A user with no reports scope on its own enterprise is told it does not exist (404); an
        # agent of that enterprise who lacks a related one is refused (403).
        visible = user == report.requester or all(
            self.allows(user, c, "reports") for c in report.enterprises
        )
        knows = user == report.requester or self.allows(user, report.company, "reports")
        assert status == (200 if visible else 403 if knows else 404), answer

    @rule(user=st.integers(0, USERS - 1), company=st.integers(0, 1))
    def history(self, user: int, company: int) -> None:
        path = f"/api/mp/reports?uscc={self.companies[company].uscc}"
        status, answer = self.harness.call("GET", path, self.tokens[user])
        assert status == (200 if self.allows(user, company, "reports") else 403), answer

    @rule(user=st.integers(0, USERS - 1))
    def list_bindings(self, user: int) -> None:
        status, answer = self.harness.call("GET", "/api/mp/bindings", self.tokens[user])
        assert status == 200, answer
        seen = {item["enterprise"]["uscc"]: set(item["scopes"]) for item in answer["items"]}
        expected = {self.companies[c].uscc: set(g.scopes)
                    for (u, c), g in self.grants.items() if u == user}  # fmt: skip
        assert seen == expected


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


async def test_no_user_ever_gets_a_2xx_for_an_enterprise_they_may_not_act_for(
    aiohttp_client, settings: Settings, db: str, redis: Redis, fake_wechat: FakeWeChat
):
    app = create_app(replace(settings, wechat_api_base=fake_wechat.base_url,
                             mp_rate_per_ip=10**6, mp_rate_per_user=10**6))  # fmt: skip
    client = await aiohttp_client(app)
    loop = asyncio.get_running_loop()
    Tenancy.harness = Harness(loop, client, fake_wechat, redis)
    # hypothesis drives the machine synchronously from a thread; requests run on this loop.
    await loop.run_in_executor(None, _drive)


def _drive() -> None:
    run_state_machine_as_test(
        Tenancy,
        settings=hsettings(
            max_examples=12, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )  # fmt: skip
