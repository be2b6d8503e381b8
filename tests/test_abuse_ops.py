"""Attacks on the operators' side: forged log lines, guessing the ops token, the staff cookie,
and unvalidated ops parameters."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from yarl import URL

from config.logging import escape_control, setup_logging
from services.accounts.ops_token import MAX_FAILURES
from services.accounts.staff_sessions import COOKIE
from services.masking import MaskingFilter
from tests.staff_support import ops_headers

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
    wrong = {"Authorization": "Bearer guess"}
    statuses = [(await cli.get("/metrics", headers=wrong)).status for _ in range(MAX_FAILURES + 2)]
    assert statuses == [403] * (MAX_FAILURES - 1) + [429] * 3


async def test_a_locked_address_is_refused_even_the_right_token(cli: TestClient) -> None:
    for _ in range(MAX_FAILURES):
        await cli.get("/metrics", headers={"Authorization": "Bearer guess"})
    r = await cli.get("/metrics", headers={"Authorization": "Bearer test-ops-token"})
    assert r.status == 429 and (await r.json())["code"] == "ops_locked"
    assert int(r.headers["Retry-After"]) > 0


async def test_the_staff_cookie_holds_a_session_id_not_the_ops_token(
    cli: TestClient, redis: Redis
) -> None:
    await ops_headers(cli)
    cookie = cli.session.cookie_jar.filter_cookies(cli.make_url("/"))[COOKIE]
    assert cookie.value != "test-ops-token" and len(cookie.value) >= 40
    assert (await cli.get("/ops", allow_redirects=False)).status == 200
    # A cookie holding the raw token opens nothing.
    cli.session.cookie_jar.clear()
    cli.session.cookie_jar.update_cookies({COOKIE: "test-ops-token"})
    assert (await cli.get("/ops", allow_redirects=False)).status == 302
    assert (await cli.get("/ops/api/queues")).status == 401


@pytest.fixture
async def ops(cli: TestClient) -> dict[str, str]:
    """The client signed in as an ops person; the CSRF header its API calls carry."""
    return await ops_headers(cli)


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
async def test_every_ops_parameter_is_checked(
    cli: TestClient, path: str, code: str, ops: dict[str, str]
) -> None:
    r = await cli.get(URL(path, encoded=True), headers=ops)
    assert r.status == 400, await r.text()
    body = await r.json()
    assert body["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


@pytest.mark.parametrize("entry_id", ["abc", "1-2-3", "-1", "1" * 30 + "-0"])
async def test_a_malformed_dead_letter_id_is_a_400(
    cli: TestClient, entry_id: str, ops: dict[str, str]
) -> None:
    for method, path in (
        ("POST", f"/ops/api/dead/notify/{entry_id}/requeue"),
        ("DELETE", f"/ops/api/dead/notify/{entry_id}"),
    ):
        r = await cli.request(method, path, headers=ops)
        assert r.status == 400, await r.text()
        assert (await r.json())["code"] == "invalid_entry_id"


async def test_a_good_limit_still_lists(cli: TestClient, ops: dict[str, str]) -> None:
    r = await cli.get("/ops/api/dead/notify?limit=5", headers=ops)
    assert r.status == 200 and (await r.json())["items"] == []
