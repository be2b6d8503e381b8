"""End to end through the Official Account: a WeChat user subscribes, gets a report and raises
an objection.

Everything real but WeChat: encrypted pushes to /wechat, the webhook, the queues, the workers
of `serve --with-workers` (bot engine, renderer, sender) and the WeChat client, against the fake
WeChat server, whose log of sent messages is what the user would have seen.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot import menu
from bot.dialogs import CHINA
from bot.dialogs import bind as bind_dialog
from bot.dialogs import objection as objection_dialog
from bot.dialogs.report import PURPOSE_QUESTION, SPAN_QUESTION
from bot.parse_domains import DOMAINS_HELP, catalogue_list
from bot.parse_span import parse_span
from config.settings import Settings
from fakes.wechat import FakeWeChat, SentMessage
from fakes.wechat_push import event_xml, image_xml, next_msg_id, text_xml
from fakes.wechat_simulate import Simulator
from handlers.app import create_app
from infra.storage import open_store, read_all
from models.catalogue import Department
from models.enums import Channel, ObjectionKind, RecordKind, RecordStatus
from models.objection import Objection
from models.record import Record
from models.report import Report
from models.user import Binding, User
from services.accounts import bindings
from tests.bot_support import ID_NUMBER, LEGAL_REP, NAME, USCC, bind, make_enterprise
from tests.test_wechat_simulate import simulate
from tests.wechat_support import post_signed, signer_for, wechat_settings

OPENID = "o_e2e_user"
WAIT_S = 20.0  # a deadline against hanging, not a speed target (that is bench/webhook.py)
PHOTO = b"\xff\xd8\xff\xe0" + bytes(500)  # a JPEG as a phone sends it
REPORT_NO = r"YX\d{14}"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return wechat_settings(settings, objection_files_dir=tmp_path / "objections")


@pytest.fixture
async def app(aiohttp_client, settings_on_fake: Settings, db: str, redis: Redis) -> TestClient:  # type: ignore[no-untyped-def]
    """The whole application with its workers, as `run.py serve --with-workers` runs it."""
    return await aiohttp_client(create_app(settings_on_fake, with_workers=4))


class WeChatUser:
    """One follower of the OA: pushes what they do to /wechat and reads what the fake got."""

    def __init__(self, app: TestClient, settings: Settings, fake: FakeWeChat) -> None:
        self.app, self.settings, self.fake = app, settings, fake
        fake.add_follower(settings.wechat_app_id, OPENID)

    def texts(self) -> list[str]:
        return [_shown(m.payload) for m in self.fake.sent_to(OPENID)]

    async def push(self, xml: str, *, times: int = 1) -> None:
        self.fake.touch(OPENID)  # writing to the OA opens the 48-hour window
        for _ in range(times):  # WeChat retries a push it got no answer to: the same body
            resp = await post_signed(self.app, self.settings, xml)
            assert (resp.status, await resp.text()) == (200, "success")

    async def wait_for(self, count: int) -> list[str]:
        """What the fake has sent the user, once it holds `count` messages."""
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while len(self.fake.sent_to(OPENID)) < count:
            assert asyncio.get_running_loop().time() < deadline, self.texts()
            await asyncio.sleep(0.05)
        return self.texts()

    async def says(self, text: str, *, answers: int = 1) -> list[str]:
        """The bot's `answers` messages to `text`."""
        before = len(self.fake.sent_to(OPENID))
        await self.push(text_xml(OPENID, text))
        return (await self.wait_for(before + answers))[before:]


def _shown(payload: dict[str, Any]) -> str:
    if payload["msgtype"] == "text":
        return str(payload["text"]["content"])
    return f"[{payload['msgtype']}]"


async def _recent_penalty() -> Record:
    """A penalty of the sample enterprise decided 100 days ago: inside any 近三年 span."""
    old = await Record.get(domain_id=15)
    decided = datetime.now(CHINA).date() - timedelta(days=100)
    return await Record.create(
        enterprise_id=old.enterprise_id, domain_id=15,
        department=await Department.get(code="ecology"), source_ref="ECO-RECENT",
        kind=RecordKind.ADMINISTRATIVE_PENALTY, decision_no="渝环罚〔2026〕7号",
        authority="重庆市生态环境局", decision_date=decided, summary="噪声超标",
        status=RecordStatus.IN_FORCE, content_hash="x", pushed_at=datetime.now(UTC),
    )  # fmt: skip


async def test_subscribe_report_and_objection_through_webhook_queues_and_workers(
    app: TestClient, settings_on_fake: Settings, fake_wechat: FakeWeChat, redis: Redis
) -> None:
    await make_enterprise()
    record = await _recent_penalty()
    user = WeChatUser(app, settings_on_fake, fake_wechat)

    # Subscribing: the welcome and the menu.
    await user.push(event_xml(OPENID, "subscribe"))
    assert await user.wait_for(2) == [menu.WELCOME_TEXT, menu.MENU_TEXT]

    # Binding as the legal representative, by conversation.
    assert await user.says("绑定") == [bind_dialog.ASK_USCC]
    assert await user.says(USCC) == [
        f"企业名称：{NAME}\n是否为您要绑定的企业？回复“是”继续，回复“否”重新输入。"
    ]
    assert await user.says("是") == [bind_dialog.ASK_NAME]
    assert await user.says(LEGAL_REP) == [bind_dialog.ASK_ID]
    assert await user.says(ID_NUMBER) == [
        f"绑定成功：您已作为法定代表人绑定“{NAME}”。回复“报告”可申请报告，回复“菜单”查看全部服务。"
    ]
    wx_user = await User.get(oa_openid=OPENID)
    assert await Binding.filter(user_id=wx_user.id, revoked_at=None).count() == 1

    # The report: domains, span, purpose, confirmation.
    assert await user.says("报告", answers=2) == [
        f"为“{NAME}”申请专项信用报告（上市版）。\n请选择核查领域：{DOMAINS_HELP}。",
        "40个领域：\n" + catalogue_list(),
    ]
    assert await user.says("生态") == [f"已选择：15 生态环境保护。\n{SPAN_QUESTION}"]
    span = parse_span("近三年", datetime.now(CHINA).date())
    dates = f"{span.start:%Y年%m月%d日}至{span.end:%Y年%m月%d日}"
    assert await user.says("近三年") == [f"时间跨度：{dates}。\n{PURPOSE_QUESTION}"]
    assert await user.says("1") == [
        f"请确认：\n企业：{NAME}\n领域：15 生态环境保护\n时间跨度：{dates}\n用途：上市挂牌\n"
        "回复“确认”提交；要修改可直接说，例如“改成近五年”“加上消防”；回复“取消”放弃。"
    ]
    # "正在生成…", then (once rendered) the card and the text with the links.
    accepted, card, links = await user.says("确认", answers=3)
    report = await Report.get(requester_id=wx_user.id)
    assert accepted == (
        f"已受理，报告编号 {report.number}，正在生成…\n生成后将发送报告图片和下载链接，请稍候。"
    )
    assert re.fullmatch(REPORT_NO, report.number) and report.channel == Channel.BOT
    assert card == "[image]"
    await _check_card(fake_wechat)
    await _check_links(app, links, report)

    # The objection: report, record, kind, description, a photo, confirmation.
    issued = report.created_at.astimezone(CHINA)
    assert await user.says("异议") == [
        f"请选择要提出异议的报告（回复序号）：\n1 {report.number} {NAME}（{issued:%Y-%m-%d}）"
    ]
    decided = record.decision_date.isoformat()
    line = f"【生态环境保护】渝环罚〔2026〕7号（{decided}，行政处罚（普通程序））"
    assert await user.says("1") == [
        f"报告 {report.number} 中的信息（回复序号选择一条；与具体信息无关请回复0）：\n1 {line}"
    ]
    assert await user.says("1") == [f"已选择：{line}\n{objection_dialog.ASK_KIND}"]
    assert await user.says("1") == [objection_dialog.ASK_TEXT]
    reason = "该处罚已于上月履行完毕并完成整改，申请更正公示信息。"
    assert await user.says(reason) == [objection_dialog.ASK_PHOTOS]
    media_id = fake_wechat.add_user_media(settings_on_fake.wechat_app_id, PHOTO)
    before = len(fake_wechat.sent_to(OPENID))
    await user.push(image_xml(OPENID, media_id))
    assert (await user.wait_for(before + 1))[before:] == [
        "已收到第1张照片。可继续发送，发完请回复“完成”。"
    ]
    assert await user.says("完成") == [
        f"请确认异议：\n对象：{line}\n类型：信息更正\n说明：{reason}\n照片：1张\n"
        "回复“确认”提交，或回复“取消”放弃。"
    ]
    # The bot's answer, and the objection service's notice (another queue: in either order).
    replies = await user.says("确认", answers=2)
    objection = await Objection.get().prefetch_related("department")
    [submitted] = [r for r in replies if r.startswith("异议已提交")]
    [notice] = [r for r in replies if r != submitted]
    due = objection.accept_due
    assert notice == (
        f"您的异议（工单号 {objection.ticket_no}）已提交，由市生态环境局办理，"
        f"受理期限为{due.year}年{due.month}月{due.day}日。在公众号回复“进度”可查看办理情况。"
    )
    assert submitted == (
        f"异议已提交，受理编号 {objection.ticket_no}，查询码 {objection.query_code}。\n"
        "办理进展将通过公众号通知您，也可回复“进度”查看。"
    )
    assert (objection.record_id, objection.report_id, objection.kind, objection.channel) == (
        record.id, report.id, ObjectionKind.CORRECTION, Channel.BOT,
    )  # fmt: skip
    assert objection.department.code == "ecology"  # the record's department handles it
    assert objection.submitted_by_id == wx_user.id and objection.text == reason
    [attachment] = objection.attachments
    assert fake_wechat.calls_to("/cgi-bin/media/get")[-1].query["media_id"] == media_id
    photos = open_store(settings_on_fake, area="objections")
    stored = [await read_all(photos, name) for name in await photos.names()]
    assert stored == [PHOTO], attachment

    # Progress lists the report and the open ticket.
    [reports, tickets, hint] = await user.says("进度", answers=3)
    assert reports.startswith("您最近申请的报告：\n1 ") and report.number in reports
    assert tickets == (
        f"您的异议（办理中）：\n{objection.ticket_no} 信息更正，已提交，"
        f"{objection.accept_due:%Y-%m-%d}前受理"
    )
    assert hint == "回复报告前的序号，可重新获取已出具的报告；回复“取消”结束。"
    assert len(fake_wechat.sent_to(OPENID)) == 27  # nothing more was sent than read above


async def _check_card(fake: FakeWeChat) -> None:
    """The image message is a PNG of at most 2 MB, uploaded as temporary media."""
    [image] = [m for m in fake.sent_to(OPENID) if m.payload["msgtype"] == "image"]
    data = fake.media[image.payload["image"]["media_id"]].data
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) <= 2 * 1024 * 1024


async def _check_links(app: TestClient, text: str, report: Report) -> None:
    """The text after the card: its PDF link downloads the PDF; its verify link says genuine."""
    matched = re.fullmatch(
        rf"您的专项信用报告已出具。\n报告编号：{report.number}\n核验码：{report.verify_code}\n"
        r"下载 PDF（\d+ 分钟内有效）：(http://yucredit\.test/r/\S+)\n"
        r"在线核验：(http://yucredit\.test/verify/\S+)",
        text,
    )
    assert matched, text
    pdf_link, verify_link = (urlsplit(u) for u in matched.groups())
    resp = await app.get(f"{pdf_link.path}?{pdf_link.query}")
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert (await resp.read()).startswith(b"%PDF")
    resp = await app.get(f"{verify_link.path}?{verify_link.query}",
                         headers={"Accept": "application/json"})  # fmt: skip
    assert resp.status == 200
    assert (await resp.json())["genuine"] is True


async def test_a_message_delivered_three_times_moves_the_dialog_once(
    app: TestClient, settings_on_fake: Settings, fake_wechat: FakeWeChat, redis: Redis
) -> None:
    enterprise = await make_enterprise()
    user = WeChatUser(app, settings_on_fake, fake_wechat)
    await user.push(event_xml(OPENID, "subscribe"))
    await user.wait_for(2)
    wx_user = await User.get(oa_openid=OPENID)
    await bindings.bind_legal_representative(
        redis, wx_user.id, enterprise.uscc, NAME, LEGAL_REP, ID_NUMBER
    )
    await user.says("报告", answers=2)

    # WeChat retries a push it thinks went unanswered with the same MsgId.
    await user.push(text_xml(OPENID, "生态", msg_id=next_msg_id()), times=3)
    assert (await user.wait_for(5))[4:] == [f"已选择：15 生态环境保护。\n{SPAN_QUESTION}"]
    # A user's messages are handled in order: had 生态 been stepped again, the span step would
    # have answered it (没看懂) before this answer to the next line.
    [answer] = await user.says("近三年")
    assert answer.startswith("时间跨度：")
    assert len(user.texts()) == 6


# --- `run.py wechat simulate` with the real engine ------------------------------------------


@pytest.fixture
async def app_url(aiohttp_server, settings_on_fake: Settings, db: str, redis: Redis) -> str:  # type: ignore[no-untyped-def]
    """The application with its workers on a port, for the simulator's process to push to."""
    server = await aiohttp_server(create_app(settings_on_fake, with_workers=4))
    return str(server.make_url("")).rstrip("/")


async def test_a_terminal_user_gets_a_report_with_a_scripted_simulation(
    settings_on_fake: Settings, app_url: str, fake_wechat: FakeWeChat, tmp_path: Path
) -> None:
    await bind(await User.create(oa_openid="o_term"), await make_enterprise())
    script = tmp_path / "report.txt"
    script.write_text("报告\n生态\n近三年\n1\n确认\n/等待图片\n", encoding="utf-8")

    code, out = await simulate(
        settings_on_fake, app_url, tmp_path, "--openid", "o_term", "--script", str(script)
    )

    assert code == 0, out
    said = [line for line in out.splitlines() if line.startswith("你：")]
    assert said == ["你：报告", "你：生态", "你：近三年", "你：1", "你：确认", "你：/等待图片"]
    report = await Report.get()
    tail = out.split("你：确认\n", 1)[1].splitlines()
    assert tail[:2] == [f"信用重庆：已受理，报告编号 {report.number}，正在生成…",
                        "生成后将发送报告图片和下载链接，请稍候。"]  # fmt: skip
    # The card and the links are shown however long rendering took (here or after /等待图片).
    assert [line for line in tail if line.startswith("信用重庆：")][1:] == [
        f"信用重庆：[图片 {fake_wechat.sent_to('o_term')[-2].payload['image']['media_id'][:12]}…]",
        "信用重庆：您的专项信用报告已出具。",
    ]
    assert f"报告编号：{report.number}" in tail and "（120 秒内没有收到图片）" not in out


async def test_waiting_for_an_image_returns_at_once_when_it_came_and_fails_when_none_does(
    settings_on_fake: Settings, fake_wechat: FakeWeChat
) -> None:
    shown: list[str] = []
    sim = Simulator("http://unused", fake_wechat.base_url, signer_for(settings_on_fake),
                    settings_on_fake.wechat_app_id, openid="o_wait", quiet_s=0.1,
                    image_wait_s=0.5, out=shown.append)  # fmt: skip
    async with aiohttp.ClientSession() as http:
        await sim.start(http)
        assert await sim.wait_for_image(http) is False
        assert shown == ["（0 秒内没有收到图片）"]

        image = {"msgtype": "image", "image": {"media_id": "MEDIA-ID-OF-A-CARD"}}
        fake_wechat.sent.append(SentMessage("custom", sim.appid, "o_wait", image, 0.0))
        # Shown while the user was typing (the interactive chat's watcher) ...
        watcher = asyncio.create_task(sim.watch(http))
        while len(shown) < 2:
            await asyncio.sleep(0.05)
        watcher.cancel()
        assert shown[1] == "信用重庆：[图片 MEDIA-ID-OF-…]"
        # ... it counts as the awaited card: /等待图片 does not wait for another one.
        assert await sim.wait_for_image(http) is True
        assert len(shown) == 2
