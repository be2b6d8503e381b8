"""The web site in a real browser (Debian's headless Chromium through Playwright), end to end:
log in inside WeChat, bind, ask for a report with related enterprises, wait for it, download
and read the PDF, raise an objection with a photo, and see the department's answer; the sad
paths; and every page screenshotted at 390×844 and 1280×800 and checked with axe-core."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from pypdf import PdfReader
from redis.asyncio import Redis

from config.settings import Settings
from fakes.oidc import FakeOidcProvider, create_fake_oidc_app
from handlers.app import create_app
from models.objection import Objection
from models.report import Report
from services.accounts.department_keys import create_department_key
from tests.browser_support import check_page, chromium, free_port, phone_context
from tests.test_mp_support import ENTERPRISES, make_enterprises
from tests.test_objection_support import PNG, record

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800322f) NetType/WIFI"
)
pytestmark = pytest.mark.slow


@pytest.fixture
async def site(aiohttp_server, settings_on_fake: Settings, tmp_path: Path, db, redis: Redis):  # type: ignore[no-untyped-def]
    """The whole application with its queue workers on a real port, the WeChat fake and the
    development OpenID Connect provider beside it, as `make run` serves them."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = FakeOidcProvider({"yucredit-web": ("oidc-secret", (f"{base}/web/login/",))})
    oidc = await aiohttp_server(create_fake_oidc_app(provider))
    provider.issuer = str(oidc.make_url("")).rstrip("/")
    settings = replace(
        settings_on_fake,
        public_base_url=base,
        wechat_open_base=settings_on_fake.wechat_api_base,
        oidc_issuer=provider.issuer,
        oidc_client_secret="oidc-secret",
        objection_files_dir=tmp_path / "objections",
    )
    await aiohttp_server(create_app(settings, with_workers=2), port=port)
    return base


async def _wechat_login(page, base: str, openid: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(f"{base}/web/")
    await page.get_by_role("link", name="微信授权登录").click()
    await page.get_by_label("openid").fill(openid)  # the fake's stand-in for the phone's user
    await page.get_by_role("button", name="以该微信用户继续").click()
    await page.wait_for_url(f"{base}/web/")


async def _bind(page, key: str, id_number: str | None = None) -> None:  # type: ignore[no-untyped-def]
    uscc, name, rep, real_id = ENTERPRISES[key]
    await page.get_by_label("统一社会信用代码").fill(uscc)
    await page.get_by_label("企业名称").fill(name)
    await page.get_by_label("法定代表人姓名").fill(rep)
    await page.get_by_label("法定代表人身份证号码").fill(id_number or real_id)
    await page.get_by_role("button", name="核验并绑定").click()


async def _department_answers(base: str, objection_id: int) -> None:
    """市市场监管局 accepts and corrects the record through the department API."""
    headers = {"Authorization": f"Bearer {(await create_department_key('samr')).key}"}
    async with aiohttp.ClientSession(base, headers=headers) as dept:
        path = f"/api/dept/objections/{objection_id}"
        async with dept.post(f"{path}/accept", json={"note": "已受理，正在核查"}) as r:
            assert r.status == 200, await r.text()
        correction = {
            "resolution": "corrected",
            "note": "文号已更正",
            "record": {"decision_no": "渝市监罚〔2024〕21号"},
        }
        async with dept.post(f"{path}/resolve", json=correction) as r:
            assert r.status == 200, await r.text()


async def test_an_enterprise_gets_a_report_and_raises_an_objection_in_the_browser(site: str):
    made = await make_enterprises()
    rec = await record(made["A"])
    async with chromium() as browser:
        context = await phone_context(browser, user_agent=WECHAT_UA)
        page = await context.new_page()
        await page.goto(f"{site}/web/")
        await check_page(page, "login")
        await _wechat_login(page, site, "o_browser_rep")
        await check_page(page, "home-unbound")

        await page.get_by_role("link", name="企业", exact=True).first.click()
        await _bind(page, "A", id_number="500103198001019999")
        await page.get_by_text("再错 4 次将锁定").wait_for()
        await check_page(page, "enterprises-bind-error")
        await _bind(page, "A")
        await page.get_by_text("绑定成功").wait_for()
        await check_page(page, "enterprises")

        await page.goto(f"{site}/web/reports/new")
        await check_page(page, "report-new")
        await page.get_by_label("搜索领域").fill("税务")
        assert await page.locator("#domain-groups .chip:visible").count() == 1
        await page.get_by_label("37. 税务").check()
        await page.get_by_label("搜索领域").fill("")
        await page.get_by_label("27. 市场监管").check()
        assert not await page.get_by_label("全部（40个领域）").is_checked()
        await page.get_by_label("近5年").check()
        await page.get_by_label("报告用途").select_option(label="债券发行")
        await page.get_by_role("button", name="下一步：确认").click()
        await page.get_by_text("您未获得该关联企业的报告授权").wait_for()
        assert await page.get_by_text(ENTERPRISES["A2"][1]).count() == 1
        await check_page(page, "report-confirm")
        await page.get_by_role("button", name="确认并申请").click()
        await page.locator("[data-verify-code]").wait_for(timeout=90_000)  # the live status
        report = await Report.get()
        assert str(report.channel) == "web" and report.domains == [27, 37]
        await check_page(page, "report-ready")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="下载PDF").click()
        pdf = Path(await (await download_info.value).path()).read_bytes()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert pdf.startswith(b"%PDF") and report.number in text.replace(" ", "")
        assert await page.get_by_text(report.verify_code, exact=True).count() == 1

        await page.goto(f"{site}/web/reports?status=ready")
        assert await page.get_by_role("link", name=report.number).count() == 1
        await check_page(page, "reports")

        await page.goto(f"{site}/web/reports/{report.id}")
        await page.get_by_role("link", name="对报告内容提出异议").click()
        await page.get_by_text(rec.decision_no).wait_for()
        await page.get_by_text("最多 9 张，每张不超过 2 MB").wait_for()
        await check_page(page, "objection-new")
        await page.get_by_label("信息更正").check()
        await page.get_by_label("异议内容和理由").fill("决定书文号有误，应为21号。")
        await page.get_by_label("证明材料照片").set_input_files(
            files=[{"name": "决定书.png", "mimeType": "image/png", "buffer": PNG}]
        )
        await page.get_by_text("决定书.png").wait_for()
        await page.get_by_role("button", name="提交").click()
        await page.get_by_text("承办部门").wait_for()
        objection = await Objection.get()
        assert str(objection.channel) == "web" and len(objection.attachments) == 1
        assert await page.get_by_text("市市场监管局").count() >= 1
        await check_page(page, "objection-submitted")

        await _department_answers(site, objection.id)
        await page.reload()
        await page.get_by_text("文号已更正").wait_for()
        assert await page.get_by_text("已办结").count() >= 1
        await check_page(page, "objection-progress")
        await page.goto(f"{site}/web/objections")
        await check_page(page, "objections")
        await page.goto(f"{site}/web/objections/new?kind=repair")
        await check_page(page, "repair-new")
        await context.close()


async def test_a_legal_person_logs_in_through_the_identity_provider(site: str):
    async with chromium() as browser:
        page = await (await phone_context(browser)).new_page()
        await page.goto(f"{site}/web/login")
        await page.get_by_role("link", name="法人身份登录").click()
        await page.get_by_label("法定代表人或经办人姓名").fill("张三")
        await page.get_by_role("button", name="同意授权并登录").click()
        await page.wait_for_url(f"{site}/web/")
        assert await page.get_by_text("第一步：绑定企业").count() == 1


async def test_sad_paths_in_the_browser(site: str, redis: Redis):
    """Locked out after five wrong ID numbers; an expired session; a form without its token."""
    await make_enterprises()
    async with chromium() as browser:
        page = await (await phone_context(browser, user_agent=WECHAT_UA)).new_page()
        await _wechat_login(page, site, "o_browser_sad")
        await page.goto(f"{site}/web/enterprises")
        for _ in range(5):
            await _bind(page, "B", id_number="500105199003039999")
            await page.get_by_role("alert").wait_for()
        await page.get_by_text("已锁定，请于1小时后再试").wait_for()
        await check_page(page, "enterprises-locked")

        await page.evaluate(
            "() => document.querySelector('#code').form.querySelector('[name=csrf_token]').remove()"
        )
        await page.get_by_label("授权码").fill("ABCDEFGHJKLM")
        await page.get_by_role("button", name="领取授权").click()
        await page.get_by_text("CSRF 校验未通过").wait_for()
        await check_page(page, "csrf-refused")

        for key in await redis.keys("web:session:*"):
            await redis.delete(key)
        await page.goto(f"{site}/web/reports")
        await page.get_by_text("登录已过期，请重新登录").wait_for()
        assert page.url.endswith("/web/login?expired=1")
