"""Helpers for the web site's tests: log in through the fakes, read CSRF tokens, post forms.

(The browser tests' harness is tests/browser_support.py.)
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from fakes.wechat import FakeWeChat

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def wechat_login(cli: TestClient, fake: FakeWeChat, openid: str) -> None:
    """Log in as the WeChat user `openid`, as WeChat's in-app browser would."""
    r = await cli.get("/web/login/wechat", allow_redirects=False)
    assert r.status == 302, await r.text()
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    callback = fake.authorize(query, openid)
    r = await cli.get(path_of(callback), allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/web/", await r.text()


async def csrf_of(cli: TestClient, page: str = "/web/enterprises") -> str:
    r = await cli.get(page)
    assert r.status == 200, await r.text()
    match = CSRF.search(await r.text())
    assert match, "no CSRF token on " + page
    return match.group(1)


async def post_form(cli: TestClient, path: str, data: Any, csrf: str | None = None):  # type: ignore[no-untyped-def]
    """POST a URL-encoded form with the session's CSRF token; redirects are not followed."""
    token = csrf if csrf is not None else await csrf_of(cli)
    fields = list(data.items()) if isinstance(data, dict) else list(data)
    return await cli.post(path, data=[("csrf_token", token), *fields], allow_redirects=False)
