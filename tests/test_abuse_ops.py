"""Attacks on the operators' side: forged log lines, guessing the ops token, the ops cookie,
and unvalidated ops parameters."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from yarl import URL

from config.logging import escape_control, setup_logging
from config.settings import Settings
from handlers.app import create_app
from handlers.auth import OPS_COOKIE
from services.accounts.ops_sessions import MAX_FAILURES
from services.masking import MaskingFilter

FORGED = "2026-12-07 00:00:00,000 ERROR [deadbeef] yucredit: 管理员令牌已泄露"


@pytest.fixture
def app_log() -> Iterator[io.StringIO]:
    """The application's own log set-up (run.py's) for one test, written to a buffer."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    setup_logging("INFO", filters=(MaskingFilter(),))
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    root.handlers[:] = saved
    root.setLevel(level)


@pytest.mark.parametrize("separator", ["%0A", "%0D%0A", "%E2%80%A8", "%1B%5B2K%0D"])
async def test_a_request_path_cannot_forge_a_log_line(
    cli: TestClient, app_log: io.StringIO, separator: str
) -> None:
    path = URL("/nothing" + separator + quote(FORGED), encoded=True)
    r = await cli.get(path)
    assert r.status == 404
    for _ in range(100):  # the access line is written just after the answer is sent
        if "ms\n" in app_log.getvalue():
            break
        await asyncio.sleep(0.01)
    lines = app_log.getvalue().splitlines()
    assert not any(line.lstrip("\r").startswith(FORGED[:30]) for line in lines), lines
    [logged] = [line for line in lines if " INFO " in line and "GET /nothing" in line]
    assert FORGED in logged and logged.endswith("ms"), logged
    assert "\x1b" not in logged and "\u2028" not in logged and "\r" not in logged


def test_control_characters_are_written_as_escapes():
    assert escape_control("a\nb\r\tc\x1b\x7f\u2028") == "a\\nb\\r\\tc\\x1b\\x7f\\u2028"
    assert escape_control("报告 YX2026 正常") == "报告 YX2026 正常"


async def test_wrong_ops_tokens_lock_the_address_out(cli: TestClient) -> None:
    statuses = []
    for _ in range(MAX_FAILURES + 2):
        r = await cli.post("/ops/login", data={"token": "guess"}, allow_redirects=False)
        statuses.append(r.status)
    assert statuses == [403] * (MAX_FAILURES - 1) + [429] * 3
    # Locked: even the right token is refused now, at the form and as a Bearer token.
    r = await cli.post("/ops/login", data={"token": "test-ops-token"}, allow_redirects=False)
    assert r.status == 429 and "锁定" in await r.text()
    r = await cli.get("/ops/api/queues", headers={"Authorization": "Bearer test-ops-token"})
    assert r.status == 429 and (await r.json())["code"] == "ops_locked"
    assert int(r.headers["Retry-After"]) > 0


async def test_wrong_bearer_tokens_count_too(cli: TestClient) -> None:
    wrong = {"Authorization": "Bearer guess"}
    statuses = [(await cli.get("/ops/api/queues", headers=wrong)).status for _ in range(12)]
    assert statuses[: MAX_FAILURES - 1] == [403] * (MAX_FAILURES - 1)
    assert set(statuses[MAX_FAILURES - 1 :]) == {429}


async def test_the_ops_cookie_holds_a_session_id_not_the_token(
    cli: TestClient, redis: Redis
) -> None:
    r = await cli.post("/ops/login", data={"token": "test-ops-token"}, allow_redirects=False)
    assert r.status == 303
    cookie = r.cookies[OPS_COOKIE]
    assert cookie.value != "test-ops-token" and "test-ops-token" not in r.headers["Set-Cookie"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # plain HTTP here; see the HTTPS test
    assert len(cookie.value) >= 40
    page = await cli.get("/ops", allow_redirects=False)
    assert page.status == 200
    # Nothing in Redis holds the session id itself, only its hash.
    assert not [k async for k in redis.scan_iter(match=f"*{cookie.value}*")]
    # A cookie holding the raw token opens nothing.
    cli.session.cookie_jar.clear()
    cli.session.cookie_jar.update_cookies({OPS_COOKIE: "test-ops-token"})
    assert (await cli.get("/ops", allow_redirects=False)).status == 303
    assert (await cli.get("/ops/api/queues")).status == 401


async def test_the_ops_cookie_is_secure_behind_https(
    aiohttp_client, settings: Settings, db: str, redis: Redis
) -> None:
    cli = await aiohttp_client(create_app(replace(settings, public_base_url="https://x.test")))
    r = await cli.post("/ops/login", data={"token": "test-ops-token"}, allow_redirects=False)
    assert r.status == 303
    assert "Secure" in r.headers["Set-Cookie"]


OPS = {"Authorization": "Bearer test-ops-token"}


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ops/api/dead/notify?limit=abc", "invalid_limit"),
        ("/ops/api/dead/notify?limit=-5", "invalid_limit"),
        ("/ops/api/dead/notify?limit=0", "invalid_limit"),
        ("/ops/api/dead/notify?limit=501", "invalid_limit"),
        ("/ops/api/dead/notify?limit=%EF%BC%95", "invalid_limit"),  # a full-width 5
        ("/ops/api/dead/nothing", "unknown_stream"),
        ("/ops/api/stats?days=x", "invalid_days"),
        ("/ops/api/stats?days=%C2%B9", "invalid_days"),  # a superscript 1: a digit, not a number
    ],
)
async def test_every_ops_parameter_is_checked(cli: TestClient, path: str, code: str) -> None:
    r = await cli.get(URL(path, encoded=True), headers=OPS)
    assert r.status == 400, await r.text()
    body = await r.json()
    assert body["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


@pytest.mark.parametrize("entry_id", ["abc", "1-2-3", "-1", "1" * 30 + "-0"])
async def test_a_malformed_dead_letter_id_is_a_400(cli: TestClient, entry_id: str) -> None:
    for method, path in (
        ("POST", f"/ops/api/dead/notify/{entry_id}/requeue"),
        ("DELETE", f"/ops/api/dead/notify/{entry_id}"),
    ):
        r = await cli.request(method, path, headers=OPS)
        assert r.status == 400, await r.text()
        assert (await r.json())["code"] == "invalid_entry_id"


async def test_a_good_limit_still_lists(cli: TestClient) -> None:
    r = await cli.get("/ops/api/dead/notify?limit=5", headers=OPS)
    assert r.status == 200 and (await r.json())["items"] == []
