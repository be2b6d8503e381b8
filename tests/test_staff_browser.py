"""The staff consoles in a real browser (Debian's headless Chromium through Playwright): an ops
person signs in with password and TOTP and reaches /ops; a wrong code, a replayed code and an
idle session; a clerk signs in with TOTP and takes an objection from the inbox to a corrected
record that the enterprise's next report prints, and is refused another department's ticket;
every page screenshotted and checked with axe-core."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from pypdf import PdfReader
from redis.asyncio import Redis

from config import clock
from config.settings import Settings
from handlers.app import create_app
from models.catalogue import Department
from models.ingest_batch import IngestBatch
from models.objection import Objection
from models.report import Report
from services.accounts.operators import create_operator
from services.accounts.staff import NewStaff
from services.objections import lifecycle
from tests.browser_support import check_page, chromium, free_port, phone_context
from tests.staff_support import PASSWORD, code_for, make_staff, next_code
from tests.test_mp_support import ENTERPRISES, invite, make_enterprises, redeem, representative
from tests.test_objection_report import issued
from tests.test_objection_support import PNG, bound_user, enterprise, record
from tests.test_terminal import agent_code

pytestmark = pytest.mark.slow


@pytest.fixture
def console_settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, objection_files_dir=tmp_path / "objections")


@pytest.fixture
async def site(aiohttp_server, console_settings: Settings, db, redis: Redis) -> str:  # type: ignore[no-untyped-def]
    port = free_port()
    await aiohttp_server(create_app(console_settings), port=port)
    return f"http://127.0.0.1:{port}"


async def _sign_in(page, username: str, code: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_label("动态验证码").fill(code)
    await page.get_by_role("button", name="登录").click()


async def _signed_in(browser, site: str, person: NewStaff, path: str):  # type: ignore[no-untyped-def]
    """A page of `person`, signed in on the way to `path` (which sends them to the form)."""
    page = await (await phone_context(browser)).new_page()
    await page.goto(f"{site}{path}")
    await _sign_in(page, person.identity.username, code_for(person))
    await page.wait_for_url(f"{site}{path}")
    return page


async def _clerk_signed_in(browser, site: str):  # type: ignore[no-untyped-def]
    """A page of 市市场监管局's clerk 张伟, signed in, at the inbox."""
    clerk = await make_staff("zhang.wei", "dept_handler", department_code="samr", name="张伟")
    return await _signed_in(browser, site, clerk, "/dept/")


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


async def test_a_clerk_handles_an_objection_from_inbox_to_corrected_record(
    site: str, console_settings: Settings, redis: Redis
):
    ent = await enterprise()
    user = await bound_user(ent)
    disputed = await record(ent)
    objection = await lifecycle.submit_objection(
        redis, user_id=user.id, enterprise_id=ent.id, kind="correction",
        text="决定书文号有误，应为21号。", record_id=disputed.id, images=[("决定书.png", PNG)],
        settings=console_settings,
    )  # fmt: skip
    tax_ent = await enterprise(2)
    tax_user = await bound_user(tax_ent)
    elsewhere = await lifecycle.submit_objection(
        redis, user_id=tax_user.id, enterprise_id=tax_ent.id, kind="detail", text="是否漏报？",
        domain=37, settings=console_settings,
    )  # fmt: skip
    await IngestBatch.create(
        public_id="B-1", department=await Department.get(code="samr"), channel="api",
        status="done", rows_received=3, created=2, rejected=1, started_at=clock.utc_now(),
        rejections_by_code={"formula_injection": 1},
        rejected_rows=[{"line": 3, "field": "summary", "code": "formula_injection",
                        "message": "不能以公式字符开头", "source_ref": '=HYPERLINK("x")'}],
    )  # fmt: skip
    async with chromium() as browser:
        page = await _clerk_signed_in(browser, site)
        await check_page(page, "dept-inbox")
        await page.get_by_role("link", name=objection.ticket_no).click()
        await page.get_by_text("决定书文号有误").wait_for()
        assert await page.get_by_role("img", name="附件：决定书.png").count() == 1
        await check_page(page, "dept-ticket")
        await page.get_by_role("button", name="认领").click()
        await page.get_by_text("已办理。").wait_for()
        assert await page.get_by_text("张伟", exact=True).count() == 1  # the claimant
        await page.get_by_role("button", name="受理", exact=True).click()
        await page.get_by_text("已办理。").wait_for()
        await page.get_by_label("办理结果").select_option("corrected")
        await page.get_by_label("决定文号").fill("渝市监罚〔2024〕21号")
        await page.get_by_label("办理说明").fill("文号已更正")
        await check_page(page, "dept-resolve")
        await page.get_by_role("button", name="办结").click()
        await page.get_by_text("文号已更正").wait_for()
        await check_page(page, "dept-resolved")
        assert (await Objection.get(id=objection.id)).status == "resolved"

        await page.goto(f"{site}/dept/objections/{elsewhere.id}")  # 市税务局's ticket, by URL
        await page.get_by_text("该异议不由本部门办理").wait_for()
        await check_page(page, "dept-other-department")

        await page.goto(f"{site}/dept/pushes")
        await page.get_by_role("link", name="下载拒收行（CSV） 批次 B-1").wait_for()
        await check_page(page, "dept-pushes")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="下载拒收行（CSV） 批次 B-1").click()
        csv_text = Path(await (await download_info.value).path()).read_text("utf-8-sig")
        assert "'=HYPERLINK" in csv_text
        await page.get_by_role("link", name="记录查询").click()
        await page.get_by_label("统一社会信用代码").fill(ent.uscc)
        await page.get_by_role("button", name="查询").click()
        await page.get_by_role("link", name="渝市监罚〔2024〕21号").click()
        await page.get_by_text("哈希链").wait_for()
        await check_page(page, "dept-record")
        await page.get_by_role("link", name="数据质量").click()
        await page.get_by_text("按月逾期推送占比").first.wait_for()
        await check_page(page, "dept-quality")
    report = await issued(console_settings, redis, ent.uscc)
    printed = report.snapshot["sections"][0]["domains"][0]["records"][0]
    assert printed["decision_no"] == "渝市监罚〔2024〕21号"


@pytest.fixture
async def hall_site(
    aiohttp_server, settings_on_fake: Settings, tmp_path: Path, db, redis: Redis
) -> str:  # type: ignore[no-untyped-def]
    """The application with its queue workers (reports really render) and the WeChat fake."""
    port = free_port()
    settings = replace(settings_on_fake, public_base_url=f"http://127.0.0.1:{port}",
                       objection_files_dir=tmp_path / "objections")  # fmt: skip
    await aiohttp_server(create_app(settings, with_workers=2), port=port)
    return f"http://127.0.0.1:{port}"


async def test_a_window_issues_and_prints_a_report_for_an_agent(hall_site: str, fake_wechat):
    await make_enterprises()
    async with aiohttp.ClientSession(hall_site) as api:  # the enterprise authorises its agent
        rep = await representative(api, fake_wechat)  # type: ignore[arg-type]
        made = await invite(api, rep, "A")  # type: ignore[arg-type]
        agent = await representative(api, fake_wechat, "B", "o_agent")  # type: ignore[arg-type]
        await redeem(api, agent, made["code"])  # type: ignore[arg-type]
    operator = await make_staff("win.one", "window_operator", hall="渝中区政务服务中心",
                                name="陈窗口")  # fmt: skip
    uscc, name = ENTERPRISES["A"][0], ENTERPRISES["A"][1]
    async with chromium() as browser:
        page = await _signed_in(browser, hall_site, operator, "/hall/")
        await page.get_by_label("统一社会信用代码或企业名称").fill("甲科技股份")
        await page.get_by_role("button", name="查询").click()
        await check_page(page, "hall-search")
        await page.get_by_role("link", name=f"办理 {name}的报告").click()
        assert await page.get_by_label("统一社会信用代码").input_value() == uscc
        await page.get_by_label("经办人凭姓名和手机号码办理（须已领取报告范围的授权）").check()
        await page.get_by_label("经办人姓名").fill("赵六")
        await page.get_by_label("经办人手机号码").fill("13812345678")
        await page.get_by_label("报告用途").select_option(label="债券发行")
        await check_page(page, "hall-issue")
        await page.get_by_role("button", name="核验授权并出具").click()
        preview = page.get_by_role("link", name="预览并打印（PDF，A4）")
        await preview.wait_for(timeout=90_000)  # the page refreshes itself while rendering
        await check_page(page, "hall-report")
        pdf = await (await page.request.get(await preview.get_attribute("href"))).body()
        reader = PdfReader(io.BytesIO(pdf))
        box = reader.pages[0].mediabox
        assert pdf.startswith(b"%PDF") and (round(box.width), round(box.height)) == (595, 842)
        report = await Report.get()
        assert report.number in "".join(p.extract_text() for p in reader.pages).replace(" ", "")
        await page.get_by_label("领取人姓名").fill("孙领取")
        await page.get_by_label("领取人身份证号码").fill("500103199001011236")
        await page.get_by_role("button", name="登记交付").click()
        await page.get_by_text("已登记交付。").wait_for()
        await check_page(page, "hall-handed-over")
        await page.goto(f"{hall_site}/hall/")
        await page.get_by_role("link", name=report.number).wait_for()
        await check_page(page, "hall-today")
    assert str(report.channel) == "hall" and report.operator == "渝中区政务服务中心-win_one"


async def test_a_department_admin_makes_an_api_key_in_the_browser(site: str):
    admin = await make_staff("admin.samr", "dept_admin", department_code="samr", name="王管理")
    async with chromium() as browser:
        page = await _signed_in(browser, site, admin, "/dept/keys")
        await page.get_by_label("用途").fill("夜间批量推送")
        await page.get_by_role("button", name="创建").click()
        await page.get_by_text("只显示这一次").wait_for()
        await check_page(page, "dept-keys")


async def test_a_department_clerk_sees_their_workbench_and_is_refused_the_ops_view(site: str):
    department = await Department.get(code="samr")
    async with chromium() as browser:
        page = await _clerk_signed_in(browser, site)
        await page.goto(f"{site}/staff/")
        assert await page.get_by_text(department.name).count() >= 1
        await check_page(page, "staff-home")
        await page.goto(f"{site}/ops")
        await page.get_by_text("您的账号无权访问该页面").wait_for()
        await check_page(page, "staff-forbidden")
        await page.goto(f"{site}/staff/")
        await page.get_by_role("button", name="退出登录").click()
        await page.wait_for_url(f"{site}/staff/login")


async def test_the_terminal_times_out_and_clears(site: str, redis: Redis):
    await make_enterprises()
    made = await create_operator("渝中区政务服务中心-自助1号", "terminal")
    uscc, _, _, id_number = ENTERPRISES["A"]
    async with chromium() as browser:
        page = await (await phone_context(browser)).new_page()
        await page.clock.install()
        await page.goto(f"{site}/terminal/")
        await page.get_by_label("终端密钥").fill(made.key)
        await page.get_by_role("button", name="设置").click()
        await page.wait_for_url(f"{site}/terminal/")
        await page.get_by_label("统一社会信用代码").click()
        for ch in uscc:  # typed on the on-screen keyboard
            await page.get_by_role("button", name=ch, exact=True).click()
        assert await page.get_by_label("统一社会信用代码").input_value() == uscc
        await page.get_by_label("法定代表人身份证号码").fill(id_number)  # the card reader
        await check_page(page, "terminal-start")
        await page.get_by_role("button", name="打印报告").click()
        await page.wait_for_url(f"{site}/terminal/report")
        await page.get_by_text("报告生成中").wait_for()
        await check_page(page, "terminal-report")
        assert await redis.keys("terminal:visit:*")
        await page.clock.fast_forward(61_000)  # a minute with nobody at the kiosk
        await page.wait_for_url(f"{site}/terminal/")
        assert await page.get_by_label("统一社会信用代码").input_value() == ""
        assert not await redis.keys("terminal:visit:*")
        assert "yc_visit" not in {c["name"] for c in await page.context.cookies()}
        await page.goto(f"{site}/terminal/report")
        await page.wait_for_url(f"{site}/terminal/")  # nothing of the visit is left to show


async def test_an_agent_types_the_agent_code_on_the_terminals_keyboard(site: str, redis: Redis):
    await make_enterprises()
    made = await create_operator("渝中区政务服务中心-自助2号", "terminal")
    uscc = ENTERPRISES["A"][0]
    async with chromium() as browser:
        page = await (await phone_context(browser)).new_page()
        await page.goto(f"{site}/terminal/")
        await page.get_by_label("终端密钥").fill(made.key)
        await page.get_by_role("button", name="设置").click()
        await page.wait_for_url(f"{site}/terminal/")
        code = await agent_code(redis)
        await page.get_by_label("统一社会信用代码").fill(uscc)
        await page.get_by_label("经办人：输入法定代表人给您的授权码").check()
        await page.get_by_label("经办人授权码").click()
        for ch in code:  # every letter and digit of the code is on the on-screen keyboard
            await page.get_by_role("button", name=ch, exact=True).click()
        assert await page.get_by_label("经办人授权码").input_value() == code
        await check_page(page, "terminal-agent-code")
        await page.get_by_role("button", name="打印报告").click()
        await page.wait_for_url(f"{site}/terminal/report")
        await page.get_by_text("报告生成中").wait_for()
    report = await Report.get()
    assert str(report.channel) == "terminal" and report.operator == "渝中区政务服务中心-自助2号"
