"""Staff accounts for tests: create one, and sign a test client in with its password and TOTP."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pyotp
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from config import clock
from services.accounts.staff import NewStaff, create_staff

SECRET_KEY = "test-id-hash-key"  # the settings fixture's ID_HASH_KEY
PASSWORD = "正确的马 battery staple"


async def make_staff(
    username: str = "ops.li",
    role: str = "ops",
    *,
    department_code: str | None = None,
    hall: str | None = None,
    name: str = "李运维",
) -> NewStaff:
    return await create_staff(SECRET_KEY, username=username, name=name, role=role,
                              password=PASSWORD, department_code=department_code,
                              hall=hall)  # fmt: skip


def code_for(new: NewStaff, at: datetime | None = None) -> str:
    """The TOTP code the person's authenticator shows at `at` (now by default)."""
    return pyotp.TOTP(new.totp_secret).at(at or clock.utc_now())


def next_code(new: NewStaff, steps: int = 1) -> str:
    """The code of a later time step, which a sign-in after one at `code_for` may use."""
    return code_for(new, clock.utc_now() + timedelta(seconds=30 * steps))


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


async def post_sign_in(
    cli: TestClient, username: str, password: str, code: str, next_: str = ""
) -> ClientResponse:
    """Fill the sign-in form as a browser does (its form token comes with the page)."""
    form = await (await cli.get("/staff/login")).text()
    data = {"form_token": hidden(form, "form_token"), "username": username,
            "password": password, "code": code, "next": next_}  # fmt: skip
    return await cli.post("/staff/login", data=data, allow_redirects=False)


async def sign_in(cli: TestClient, new: NewStaff, code: str | None = None) -> dict[str, str]:
    """Sign the client in; the headers a script sends with each request (the CSRF token)."""
    r = await post_sign_in(cli, new.identity.username, PASSWORD, code or code_for(new))
    assert r.status == 303, await r.text()
    page = await cli.get("/staff/")
    assert page.status == 200, await page.text()
    return {"X-CSRF-Token": hidden(await page.text(), "csrf_token")}


async def ops_headers(cli: TestClient) -> dict[str, str]:
    """Sign the client in as an ops person; the headers for /ops/api calls."""
    return await sign_in(cli, await make_staff())
