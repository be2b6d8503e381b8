"""schemathesis against /api/openapi.json: generated requests, valid and invalid, to every
operation, with real credentials so that they get past authentication, and every check. No
answer may be a 5xx or break the document (status, content type, headers, body schema); a
request the document allows is never refused as malformed (400), and one it rules out is never
accepted.

The credentials go through schemathesis's own auth configuration, one bearer per security
scheme: a request it generates without them (to see that it is refused) is sent without them.
A valid request may still break a rule the document cannot state (a USCC's check digit, a date
span, an Idempotency-Key used again for another body): that is 422, as the document says.

schemathesis is synchronous: it runs in a worker thread against the app served on the test's
event loop. The number of examples is bounded so that this takes seconds per backend; a deeper
run sets YUCREDIT_SCHEMATHESIS_EXAMPLES (60 per operation and mode before a release).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from redis.asyncio import Redis
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from config.settings import Settings
from fakes.wechat import FakeWeChat
from handlers.app import create_app
from services.accounts.department_keys import create_department_key
from services.accounts.operators import create_operator
from tests.test_mp_support import auth, invite, make_enterprises, representative

EXAMPLES_PER_MODE = int(os.environ.get("YUCREDIT_SCHEMATHESIS_EXAMPLES", "12"))
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
# What a valid request may get: schemathesis's default, and 422 for a rule it breaks.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
# Logging out would end the session the other operations use.
SKIPPED = {("POST", "/api/mp/logout")}


async def test_generated_requests_get_no_5xx_and_answers_that_fit_the_document(
    aiohttp_client,
    settings: Settings,
    db: str,
    redis: Redis,
    fake_wechat: FakeWeChat,
    tmp_path: Path,
):
    app = create_app(replace(settings, wechat_api_base=fake_wechat.base_url,
                             mp_rate_per_ip=10**6, mp_rate_per_user=10**6,
                             objection_files_dir=tmp_path / "objections"))  # fmt: skip
    client = await aiohttp_client(app)
    await make_enterprises()
    token = await representative(client, fake_wechat)
    await client.post("/api/mp/reports", json={"uscc": "x"}, headers=auth(token))
    await invite(client, token, "A")
    bearers = {
        "mpSession": token,
        "operatorKey": (await create_operator("窗口1", "hall")).key,
        "deptKey": (await create_department_key("samr")).key,
    }
    base_url = str(client.make_url("")).rstrip("/")
    answered: dict[str, set[int]] = {}
    failures = await asyncio.get_running_loop().run_in_executor(
        None, _fuzz, base_url, bearers, answered
    )
    assert not failures, "\n\n".join(failures)
    # The credentials went through: each audience answered something other than 401.
    for audience in ("/api/mp", "/api/hall", "/api/dept"):
        assert answered[audience] - {401}, (audience, answered[audience])


def _fuzz(base_url: str, bearers: dict[str, str], answered: dict[str, set[int]]) -> list[str]:
    config = SchemathesisConfig.from_dict({
        "auth": {"openapi": {scheme: {"bearer": key} for scheme, key in bearers.items()}},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
    })  # fmt: skip
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json", config=config)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode, base_url, answered)
            except Unsatisfiable:
                assert mode == schemathesis.GenerationMode.NEGATIVE  # nothing to make invalid
            except (Exception, BaseExceptionGroup) as exc:  # every operation, not the first only
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    return failures


def _exercise(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    base_url: str,
    answered: dict[str, set[int]],
) -> None:
    audience = "/".join(operation.path.split("/")[:3])

    @hsettings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None,
               suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=base_url, checks=ALL_CHECKS)
        answered.setdefault(audience, set()).add(response.status_code)

    check()
