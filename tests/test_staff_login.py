"""Staff sign-in: a person's own account, password (scrypt) and TOTP, lockout, replayed codes,
session cookies, fixation, CSRF, idle expiry, roles, and the audit trail naming the person."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from handlers.staff import FORM_COOKIE
from models.audit import AuditEntry
from models.catalogue import Department
from models.staff import StaffAccount
from services.accounts.staff import PER_ACCOUNT, disable_staff
from services.accounts.staff_passwords import hash_password, password_matches
from services.accounts.staff_sessions import COOKIE, IDLE_S
from services.errors import InvalidRequest
from tests.conftest import REDIS_URL
from tests.staff_support import (
    PASSWORD,
    code_for,
    hidden,
    make_staff,
    next_code,
    post_sign_in,
    sign_in,
)

ROOT = Path(__file__).resolve().parent.parent
FAILED = "用户名、密码或动态验证码错误"


def test_passwords_are_stored_as_salted_scrypt_hashes():
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("scrypt$16384$8$1$") and "correct" not in stored
    assert stored != hash_password("correct horse battery staple")  # salted
    assert password_matches("correct horse battery staple", stored)
    assert not password_matches("correct horse battery stapler", stored)
    assert not password_matches("x", "md5$abc")


async def test_an_account_keeps_neither_the_password_nor_the_totp_secret_in_clear(db):
    new = await make_staff()
    row = await StaffAccount.get(username="ops.li")
    assert PASSWORD not in row.password_hash and new.totp_secret not in row.totp_secret_encrypted
    assert new.provisioning_uri.startswith("otpauth://totp/") and "ops.li" in new.provisioning_uri
    entry = await AuditEntry.get(action="staff.created")
    assert entry.object_id == str(row.id) and entry.detail["role"] == "ops"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"username": "Zhang Wei"}, "staff_username_invalid"),
        ({"password": "short"}, "staff_password_weak"),
        ({"role": "dept_handler", "department_code": "nope"}, "staff_department_unknown"),
        ({"role": "window_operator"}, "staff_hall_required"),
        ({"role": "boss"}, "staff_role_invalid"),
    ],
)
async def test_an_account_with_bad_details_is_refused_in_chinese(db, fields, code):
    from services.accounts.staff import create_staff

    args = {"username": "wang.wu", "name": "王五", "role": "ops", "password": PASSWORD, **fields}
    with pytest.raises(InvalidRequest) as caught:
        await create_staff("k", **args)
    assert caught.value.code == code and any(
        "\u4e00" <= c <= "\u9fff" for c in caught.value.message
    )


async def test_staff_create_prints_the_enrolment_qr_once(db, database_url: str, tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env")}  # fmt: skip
    department = await Department.first()
    argv = [
        sys.executable,
        "run.py",
        "staff",
        "create",
        "zhang.wei",
        "--name",
        "张伟",
        "--role",
        "dept_handler",
        "--department",
        department.code,
        "--password-stdin",
    ]
    out = subprocess.run(argv, cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "只显示这一次" in out.stdout and department.name in out.stdout
    assert "█" in out.stdout or "▀" in out.stdout  # the QR code, drawn in the terminal
    assert re.search(r"登录地址：https?://\S+/staff/login（登录后进入 /dept/）", out.stdout)
    secret = out.stdout.split("手动输入密钥：")[1].split()[0]
    row = await StaffAccount.get(username="zhang.wei")
    assert row.department_id == department.id and secret not in row.totp_secret_encrypted
    again = subprocess.run(argv, cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True,
                           text=True)  # fmt: skip
    assert again.returncode == 2 and "已存在" in again.stderr and secret not in again.stdout


async def test_signing_in_sets_a_strict_http_only_cookie_and_audits_the_person(cli: TestClient):
    new = await make_staff()
    r = await post_sign_in(cli, "ops.li", PASSWORD, code_for(new))
    assert r.status == 303 and r.headers["Location"] == "/ops"
    cookie = r.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert (await cli.get("/ops", allow_redirects=False)).status == 200
    entry = await AuditEntry.get(action="staff.signed_in")
    assert entry.actor == "staff:ops.li" and entry.object_id == str(new.identity.id)


async def test_the_cookie_is_secure_behind_https(aiohttp_client, settings: Settings, db, redis):
    cli = await aiohttp_client(create_app(replace(settings, public_base_url="https://x.test")))
    new = await make_staff()
    form = await cli.get("/staff/login")
    assert "Secure" in form.headers["Set-Cookie"]
    token = hidden(await form.text(), "form_token")
    # The test client speaks plain HTTP, so it holds back Secure cookies: send it by hand.
    data = {"form_token": token, "username": "ops.li", "password": PASSWORD,
            "code": code_for(new)}  # fmt: skip
    r = await cli.post("/staff/login", data=data, headers={"Cookie": f"{FORM_COOKIE}={token}"},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303
    assert "Secure" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]


@pytest.mark.parametrize("wrong", ["password", "code", "username"])
async def test_a_wrong_password_code_or_name_gets_the_same_answer(cli: TestClient, wrong: str):
    new = await make_staff()
    good = {"username": "ops.li", "password": PASSWORD, "code": code_for(new)}
    bad = {"password": "not the password", "code": next_code(new, 10), "username": "ops.wang"}
    r = await post_sign_in(cli, **{**good, wrong: bad[wrong]})
    assert r.status == 403 and FAILED in await r.text()
    assert COOKIE not in r.cookies
    assert await AuditEntry.filter(action="staff.sign_in_failed").count() == 1


async def test_a_replayed_totp_code_is_refused_even_from_another_browser(
    cli: TestClient, aiohttp_client, settings: Settings
):
    new = await make_staff()
    code = code_for(new)
    assert (await post_sign_in(cli, "ops.li", PASSWORD, code)).status == 303
    other = await aiohttp_client(create_app(settings))
    r = await post_sign_in(other, "ops.li", PASSWORD, code)
    assert r.status == 403 and "已使用过" in await r.text()
    assert COOKIE not in r.cookies
    assert await AuditEntry.filter(action="staff.totp_replayed").count() == 1
    assert (await post_sign_in(other, "ops.li", PASSWORD, next_code(new))).status == 303


async def test_wrong_attempts_lock_the_account_out_with_a_growing_lock(cli: TestClient):
    new = await make_staff()
    statuses = []
    for _ in range(PER_ACCOUNT + 1):
        statuses.append((await post_sign_in(cli, "ops.li", "guess guess guess", "000000")).status)
    assert statuses == [403] * (PER_ACCOUNT - 1) + [429, 429]
    r = await post_sign_in(cli, "ops.li", PASSWORD, code_for(new))  # right, but locked
    assert r.status == 429 and "锁定" in await r.text()
    assert COOKIE not in r.cookies


async def test_signing_in_makes_a_new_session_id_and_ends_the_planted_one(
    cli: TestClient, redis: Redis
):
    new = await make_staff()
    await sign_in(cli, new)
    planted = cli.session.cookie_jar.filter_cookies(cli.make_url("/"))[COOKIE].value
    # The attacker's own (valid) session id, planted in the victim's browser before sign-in.
    r = await post_sign_in(cli, "ops.li", PASSWORD, next_code(new))
    fresh = r.cookies[COOKIE].value
    assert fresh != planted
    assert not await redis.exists("staff:session:" + hashlib.sha256(planted.encode()).hexdigest())
    cli.session.cookie_jar.clear()
    cli.session.cookie_jar.update_cookies({COOKIE: planted})
    r = await cli.get("/ops", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/staff/login")


async def test_redis_holds_only_the_hash_of_the_session_id_sliding_for_the_idle_timeout(
    cli: TestClient, redis: Redis
):
    await sign_in(cli, await make_staff())
    token = cli.session.cookie_jar.filter_cookies(cli.make_url("/"))[COOKIE].value
    assert not [k async for k in redis.scan_iter(match=f"*{token}*")]
    key = "staff:session:" + hashlib.sha256(token.encode()).hexdigest()
    await redis.expire(key, 5)
    assert (await cli.get("/ops")).status == 200
    assert IDLE_S - 5 <= await redis.ttl(key) <= IDLE_S  # a request slides it
    await redis.delete(key)  # what the idle timeout does
    r = await cli.get("/ops", allow_redirects=False)
    assert r.status == 302 and "expired=1" in r.headers["Location"]
    page = await cli.get(r.headers["Location"])
    assert "登录已过期" in await page.text()


async def test_a_post_without_the_csrf_token_is_refused(cli: TestClient, redis: Redis):
    headers = await sign_in(cli, await make_staff())
    r = await cli.post("/ops/canary", allow_redirects=False)
    assert r.status == 403 and "CSRF" in await r.text()
    r = await cli.post("/ops/api/canary", headers={"X-CSRF-Token": "forged"})
    assert r.status == 403 and (await r.json())["code"] == "csrf_invalid"
    assert await AuditEntry.filter(action="queue.canary.sent").count() == 0
    r = await cli.post("/ops/canary", data={"csrf_token": headers["X-CSRF-Token"]},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303
    sent = await AuditEntry.get(action="queue.canary.sent")
    assert sent.actor == "staff:ops.li"


async def test_a_sign_in_form_without_its_token_is_refused(cli: TestClient):
    new = await make_staff()
    data = {"username": "ops.li", "password": PASSWORD, "code": code_for(new)}
    r = await cli.post("/staff/login", data=data, allow_redirects=False)
    assert r.status == 403 and "登录页面已过期" in await r.text()
    assert not await AuditEntry.filter(action="staff.signed_in").exists()


async def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(cli: TestClient):
    new = await make_staff()
    r = await cli.get("/ops/stats", allow_redirects=False)
    assert r.headers["Location"] == "/staff/login?next=/ops/stats"
    r = await post_sign_in(cli, "ops.li", PASSWORD, code_for(new), next_="/ops/stats")
    assert r.headers["Location"] == "/ops/stats"
    r = await post_sign_in(cli, "ops.li", PASSWORD, next_code(new), next_="//evil.example/ops")
    assert r.headers["Location"] == "/ops"


async def test_a_department_clerk_may_not_open_the_ops_view(cli: TestClient):
    department = await Department.first()
    clerk = await make_staff("zhang.wei", "dept_handler", department_code=department.code,
                             name="张伟")  # fmt: skip
    headers = await sign_in(cli, clerk)
    r = await cli.get("/ops")
    assert r.status == 403 and "无权" in await r.text()
    r = await cli.get("/ops/api/queues", headers=headers)
    assert r.status == 403 and (await r.json())["code"] == "staff_role_forbidden"
    home = await (await cli.get("/staff/")).text()
    assert "张伟" in home and department.name in home


async def test_a_disabled_account_loses_its_session_and_cannot_sign_in(cli: TestClient):
    new = await make_staff()
    await sign_in(cli, new)
    assert await disable_staff("ops.li", by="staff:admin")
    r = await cli.get("/ops", allow_redirects=False)
    assert r.status == 302
    r = await post_sign_in(cli, "ops.li", PASSWORD, next_code(new))
    assert r.status == 403 and FAILED in await r.text()


async def test_signing_out_ends_the_session_and_is_audited(cli: TestClient, redis: Redis):
    headers = await sign_in(cli, await make_staff())
    r = await cli.post("/staff/logout", data={"csrf_token": headers["X-CSRF-Token"]},
                       allow_redirects=False)  # fmt: skip
    assert r.status == 303 and r.headers["Location"] == "/staff/login"
    assert not [k async for k in redis.scan_iter(match="staff:session:*")]
    assert (await AuditEntry.get(action="staff.signed_out")).actor == "staff:ops.li"


async def test_the_ops_token_opens_only_metrics(cli: TestClient):
    token = {"Authorization": "Bearer test-ops-token"}
    assert (await cli.get("/metrics", headers=token)).status == 200
    r = await cli.get("/ops/api/queues", headers=token)
    assert r.status == 401 and (await r.json())["code"] == "staff_session_required"
    assert (await cli.get("/ops/login", allow_redirects=False)).headers["Location"] == (
        "/staff/login?next=/ops"
    )


async def test_staff_pages_send_a_strict_content_security_policy(cli: TestClient):
    r = await cli.get("/staff/login")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
