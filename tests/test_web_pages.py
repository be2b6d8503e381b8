"""The web site's pages over the shared services: binding and agents, asking for a report with
related enterprises, the history, objections with photos. (The real browser: test_web_browser.)"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from aiohttp import FormData

from models.enterprise import Enterprise
from models.enums import Channel
from models.objection import Objection
from models.report import Report
from models.user import Binding
from services.identity import hash_id_number
from tests.test_mp_support import ENTERPRISES, bind_body, make_enterprises
from tests.test_objection_support import PNG, record
from tests.web_support import csrf_of, post_form, wechat_login


async def _bound(cli, fake, key: str = "A", openid: str = "o_web_rep"):  # type: ignore[no-untyped-def]
    made = await make_enterprises()
    await wechat_login(cli, fake, openid)
    r = await post_form(cli, "/web/enterprises", bind_body(key))
    assert r.status == 303, await r.text()
    return made


async def test_binding_with_a_wrong_id_number_says_how_many_attempts_are_left(mp_cli, fake_wechat):
    await make_enterprises()
    await wechat_login(mp_cli, fake_wechat, "o_wrong")
    r = await post_form(mp_cli, "/web/enterprises", bind_body("A", id_number="500103198001019999"))
    text = await r.text()
    assert r.status == 403
    assert "核验未通过" in text and "再错 4 次将锁定" in text
    assert "500103198001019999" not in text  # the ID number is not echoed back
    assert ENTERPRISES["A"][1] in text  # the other fields are kept for correcting


async def test_five_wrong_attempts_lock_binding_for_an_hour(mp_cli, fake_wechat):
    await make_enterprises()
    await wechat_login(mp_cli, fake_wechat, "o_locked")
    csrf = await csrf_of(mp_cli)
    for _ in range(4):
        r = await post_form(mp_cli, "/web/enterprises", bind_body("A", id_number="1"), csrf)
        assert r.status == 403
    r = await post_form(mp_cli, "/web/enterprises", bind_body("A", id_number="1"), csrf)
    assert r.status == 429 and "已锁定，请于1小时后再试" in await r.text()
    r = await post_form(mp_cli, "/web/enterprises", bind_body("A"), csrf)  # right, but locked
    assert r.status == 429
    assert await Binding.all().count() == 0


async def test_a_legal_representative_authorises_and_revokes_an_agent(mp_cli, fake_wechat):
    await _bound(mp_cli, fake_wechat)
    expires = (date.today() + timedelta(days=90)).isoformat()
    form = [
        ("uscc", ENTERPRISES["A"][0]),
        ("name", "赵六"),
        ("phone", "13812345678"),
        ("scopes", "reports"),
        ("scopes", "objections"),
        ("expires_at", expires),
    ]
    r = await post_form(mp_cli, "/web/agents", form)
    text = await r.text()
    assert r.status == 201, text
    code = re.search(r'<p class="code">([A-Z0-9]{12})</p>', text).group(1)
    assert "138****5678" in text and "13812345678" not in text
    agent = await Binding.get(role="agent")
    assert agent.scopes == ["reports", "objections"] and code
    r = await post_form(mp_cli, f"/web/agents/{agent.id}/revoke", {})
    assert r.status == 303
    await agent.refresh_from_db()
    assert agent.revoked_at is not None


async def test_the_report_form_offers_grouped_domains_presets_and_purposes(mp_cli, fake_wechat):
    await _bound(mp_cli, fake_wechat)
    text = await (await mp_cli.get("/web/reports/new")).text()
    assert text.count('name="domains"') == 40
    assert "全部（40个领域）" in text and "市场与经营" in text
    for label in ("近1年", "近3年", "近5年", "自定义"):
        assert label in text
    assert 'min="2020-01-01"' in text and "上市" in text


async def test_confirming_shows_which_related_enterprises_are_left_out_and_why(mp_cli, fake_wechat):
    await _bound(mp_cli, fake_wechat)
    form = [
        ("uscc", ENTERPRISES["A"][0]),
        ("domains", "27"),
        ("domains", "37"),
        ("span", "1"),
        ("purpose", "bond"),
        ("related", "1"),
    ]
    r = await post_form(mp_cli, "/web/reports/confirm", form)
    text = await r.text()
    assert r.status == 200, text
    assert ENTERPRISES["A2"][1] in text and "您未获得该关联企业的报告授权" in text
    assert "27. 市场监管" in text and "37. 税务" in text
    one_year_ago = date.today() - timedelta(days=365)
    assert "至 " + date.today().isoformat() in text or one_year_ago.isoformat()[:4] in text
    assert await Report.all().count() == 0  # nothing asked yet


async def test_a_custom_span_before_2020_is_refused_in_chinese(mp_cli, fake_wechat):
    await _bound(mp_cli, fake_wechat)
    form = {"uscc": ENTERPRISES["A"][0], "span": "custom", "from": "2019-06-01", "to": ""}
    r = await post_form(mp_cli, "/web/reports/confirm", form)
    assert r.status == 422 and "不能早于2020年1月1日" in await r.text()


async def test_asking_records_a_web_report_and_shows_its_status(mp_cli, fake_wechat):
    await _bound(mp_cli, fake_wechat)
    form = {
        "uscc": ENTERPRISES["A"][0],
        "domains": "27,37",
        "from": "2023-01-01",
        "to": "2024-12-31",
        "purpose": "listing",
        "related": "1",
    }
    r = await post_form(mp_cli, "/web/reports", form)
    assert r.status == 303, await r.text()
    report = await Report.get()
    assert str(report.channel) == Channel.WEB.value and report.domains == [27, 37]
    assert r.headers["Location"] == f"/web/reports/{report.id}"
    page = await (await mp_cli.get(r.headers["Location"])).text()
    assert report.number in page and "data-poll" in page and "已受理" in page
    status = await (await mp_cli.get(f"/web/reports/{report.id}/status")).json()
    assert status["status"] == "pending" and status["status_label"]
    history = await (await mp_cli.get("/web/reports?status=pending")).text()
    assert report.number in history
    history = await (await mp_cli.get("/web/reports?status=ready")).text()
    assert report.number not in history and "没有符合条件的报告" in history


async def test_another_users_report_is_not_shown(mp_cli, fake_wechat):
    await _bound(mp_cli, fake_wechat)
    form = {"uscc": ENTERPRISES["A"][0], "domains": "all", "purpose": "listing"}
    r = await post_form(mp_cli, "/web/reports", form)
    mp_cli.session.cookie_jar.clear()
    await wechat_login(mp_cli, fake_wechat, "o_stranger")
    r = await mp_cli.get(r.headers["Location"])
    assert r.status == 404 and "未找到该报告" in await r.text()  # as for a missing one


async def test_an_objection_with_a_photo_is_routed_and_followed(mp_cli, fake_wechat):
    made = await _bound(mp_cli, fake_wechat)
    rec = await record(made["A"])
    page = await (await mp_cli.get("/web/objections/new")).text()
    assert "最多 9 张，每张不超过 2 MB" in page and rec.decision_no in page
    csrf = await csrf_of(mp_cli)
    form = FormData()
    for name, value in (
        ("enterprise_id", str(made["A"].id)),
        ("record_id", str(rec.id)),
        ("kind", "correction"),
        ("text", "决定书文号有误，应为21号。"),
    ):
        form.add_field(name, value)
    form.add_field("images", PNG, filename="决定书.png", content_type="image/png")
    r = await mp_cli.post(f"/web/objections?csrf_token={csrf}", data=form, allow_redirects=False)
    assert r.status == 303, await r.text()
    objection = await Objection.get()
    assert str(objection.channel) == Channel.WEB.value and len(objection.attachments) == 1
    detail = await (await mp_cli.get(r.headers["Location"])).text()
    assert "市市场监管局" in detail and objection.accept_due.isoformat() in detail
    assert "提交异议" in detail and "/attachments/1" in detail
    image = await mp_cli.get(f"/web/objections/{objection.id}/events/1/attachments/1")
    assert image.status == 200 and await image.read() == PNG


async def test_a_multipart_objection_without_the_csrf_token_is_refused(mp_cli, fake_wechat):
    made = await _bound(mp_cli, fake_wechat)
    form = FormData()
    form.add_field("enterprise_id", str(made["A"].id))
    form.add_field("kind", "detail")
    form.add_field("text", "请说明。")
    r = await mp_cli.post("/web/objections", data=form, allow_redirects=False)
    assert r.status == 403
    assert await Objection.all().count() == 0


async def test_an_oversized_photo_is_refused_with_the_limit(mp_cli, fake_wechat):
    made = await _bound(mp_cli, fake_wechat)
    csrf = await csrf_of(mp_cli)
    form = FormData()
    form.add_field("enterprise_id", str(made["A"].id))
    form.add_field("kind", "repair")
    form.add_field("text", "已整改。")
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024))
    form.add_field("images", big, filename="大.png", content_type="image/png")
    r = await mp_cli.post(f"/web/objections?csrf_token={csrf}", data=form, allow_redirects=False)
    assert r.status == 400 and "超过 2 MB" in await r.text()


async def test_on_demo_data_the_bind_form_is_filled_in_for_a_newcomer(
    aiohttp_client, settings_on_fake, fake_wechat, db, redis
):
    from handlers.app import create_app
    from handlers.keys import WEB_DEMO_BINDING
    from services.demo.seed import demo_binding, seed_demo

    assert await demo_binding(settings_on_fake.id_hash_key) is None  # no demo data: no hint
    await seed_demo(
        enterprises=20, records=50, seed=7, id_hash_key=settings_on_fake.id_hash_key, progress=False
    )
    demo = await demo_binding(settings_on_fake.id_hash_key)
    assert demo is not None and demo["uscc"] == (await Enterprise.get(id=18)).uscc
    app = create_app(settings_on_fake)
    app[WEB_DEMO_BINDING] = demo  # as run.py does when it serves the fakes
    cli = await aiohttp_client(app)
    await wechat_login(cli, fake_wechat, "o_newcomer")
    page = await (await cli.get("/web/enterprises")).text()
    assert "演示环境" in page and f'value="{demo["id_number"]}"' in page
    r = await post_form(cli, "/web/enterprises", {k: v for k, v in demo.items()})
    assert r.status == 303, await r.text()
    page = await (await cli.get("/web/enterprises")).text()
    assert "演示环境" not in page  # bound: the hint has done its job


async def test_on_demo_data_an_enterprise_with_a_departments_records_is_found_for_a_newcomer(
    settings_on_fake, db
):
    from models.record import Record
    from services.demo.seed import demo_binding_with_records, seed_demo

    key = settings_on_fake.id_hash_key
    assert await demo_binding_with_records(key, "samr") is None
    await seed_demo(enterprises=20, records=200, seed=7, id_hash_key=key, progress=False)
    demo = await demo_binding_with_records(key, "samr")
    assert demo is not None
    ent = await Enterprise.get(uscc=demo["uscc"])
    assert await Record.filter(enterprise_id=ent.id, department__code="samr").exists()
    assert hash_id_number(key, demo["id_number"]) == ent.legal_rep_id_hash


async def test_an_objection_without_photos_is_accepted_from_a_browser_form(mp_cli, fake_wechat):
    """A browser sends an empty part for a file input left empty: it is no image."""
    made = await _bound(mp_cli, fake_wechat)
    csrf = await csrf_of(mp_cli)
    form = FormData()
    form.add_field("enterprise_id", str(made["A"].id))
    form.add_field("domain", "27")
    form.add_field("kind", "detail")
    form.add_field("text", "请说明该领域的核查口径。")
    form.add_field("images", io.BytesIO(b""), filename="", content_type="application/octet-stream")
    r = await mp_cli.post(f"/web/objections?csrf_token={csrf}", data=form, allow_redirects=False)
    assert r.status == 303, await r.text()
    assert (await Objection.get()).attachments == []
