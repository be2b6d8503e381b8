"""Staff sign-in in a real browser (Debian's headless Chromium through Playwright): an ops person
signs in with password and TOTP and reaches /ops; a wrong code, a replayed code and an idle
session in the browser; every page screenshotted and checked with axe-core."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from models.catalogue import Department
from tests.browser_support import check_page, chromium, free_port, phone_context
from tests.staff_support import PASSWORD, code_for, make_staff, next_code

pytestmark = pytest.mark.slow


@pytest.fixture
async def site(aiohttp_server, settings: Settings, db, redis: Redis) -> str:  # type: ignore[no-untyped-def]
    port = free_port()
    await aiohttp_server(create_app(settings), port=port)
    return f"http://127.0.0.1:{port}"


async def _sign_in(page, username: str, code: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_label("动态验证码").fill(code)
    await page.get_by_role("button", name="登录").click()


async def test_an_ops_person_signs_in_with_totp_and_reaches_the_ops_view(site: str, redis: Redis):
    ops = await make_staff()
    async with chromium() as browser:
        page = await (await phone_context(browser)).new_page()
        await page.goto(f"{site}/ops")
        assert "/staff/login?next=/ops" in page.url
        await check_page(page, "staff-login")

        wrong = next_code(ops, 20)  # a real code of another time, never this one
        await _sign_in(page, "ops.li", wrong)
        await page.get_by_text("用户名、密码或动态验证码错误").wait_for()
        await check_page(page, "staff-login-failed")

        code = code_for(ops)
        await _sign_in(page, "ops.li", code)
        await page.wait_for_url(f"{site}/ops")
        assert await page.get_by_text("李运维").count() == 1
        await page.screenshot(path="var/screenshots/staff-ops.png", full_page=True)

        other = await (await phone_context(browser)).new_page()
        await other.goto(f"{site}/staff/login")
        await _sign_in(other, "ops.li", code)  # the same code, seen over a shoulder
        await other.get_by_text("该动态验证码已使用过").wait_for()
        await check_page(other, "staff-login-replayed")

        for key in await redis.keys("staff:session:*"):
            await redis.delete(key)  # what fifteen idle minutes do
        await page.goto(f"{site}/ops")
        await page.get_by_text("登录已过期，请重新登录").wait_for()
        assert "expired=1" in page.url


async def test_a_department_clerk_sees_their_workbench_and_is_refused_the_ops_view(site: str):
    department = await Department.get(code="samr")
    clerk = await make_staff("zhang.wei", "dept_handler", department_code="samr", name="张伟")
    async with chromium() as browser:
        page = await (await phone_context(browser)).new_page()
        await page.goto(f"{site}/staff/login")
        await _sign_in(page, "zhang.wei", code_for(clerk))
        await page.wait_for_url(f"{site}/staff/")
        assert await page.get_by_text(department.name).count() >= 1
        await check_page(page, "staff-home")
        await page.goto(f"{site}/ops")
        await page.get_by_text("您的账号无权访问该页面").wait_for()
        await check_page(page, "staff-forbidden")
        await page.goto(f"{site}/staff/")
        await page.get_by_role("button", name="退出登录").click()
        await page.wait_for_url(f"{site}/staff/login")
