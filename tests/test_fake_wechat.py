"""The local WeChat fake answers like api.weixin.qq.com: same paths, errcodes and limits."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from fakes import wechat
from fakes.wechat import FakeClock, FakeWeChat, create_fake_wechat_app, sniff_format

OA = "wx_oa_test"
MP = "wx_mp_test"
SECRETS = {OA: "oa-secret", MP: "mp-secret"}
SUBSCRIBE_TEMPLATE = "tmpl_report_ready"
OA_TEMPLATE = "tmpl_oa_notice"

TOKEN = "/cgi-bin/token"
STABLE_TOKEN = "/cgi-bin/stable_token"
JSCODE = "/sns/jscode2session"
UPLOAD = "/cgi-bin/media/upload"
MEDIA_GET = "/cgi-bin/media/get"
CUSTOM = "/cgi-bin/message/custom/send"
SUBSCRIBE = "/cgi-bin/message/subscribe/send"
TEMPLATE = "/cgi-bin/message/template/send"

JPEG = b"\xff\xd8\xff\xe0" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
GIF = b"GIF89a" + bytes(200)
BMP = b"BM" + bytes(200)
PDF = b"%PDF-1.4\n" + bytes(200)
HOUR = 3600
DAY = 24 * HOUR
GOOD_DATA = {"thing1": {"value": "信用报告已生成"}, "time2": {"value": "2024-05-01 10:00"}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeWeChat:
    templates = {SUBSCRIBE_TEMPLATE: ["thing1", "time2"], OA_TEMPLATE: []}
    return FakeWeChat(apps=SECRETS, templates=templates, clock=clock)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, fake: FakeWeChat) -> TestClient:
    return await aiohttp_client(create_fake_wechat_app(fake))


# --- helpers --------------------------------------------------------------------------------


def assert_error(body: dict[str, Any], errcode: int, errmsg: str) -> None:
    """errcode and errmsg as WeChat words them, before the " rid: …" every error carries."""
    text, _, rid = body["errmsg"].rpartition(" rid: ")
    assert (body["errcode"], text) == (errcode, errmsg), body
    assert rid, body


async def get_json(client: TestClient, path: str, params: dict[str, str]) -> dict[str, Any]:
    resp = await client.get(path, params=params)
    assert resp.status == 200
    return await resp.json()


async def post_json(client: TestClient, path: str, token: str, body: Any) -> dict[str, Any]:
    resp = await client.post(path, params={"access_token": token}, json=body)
    assert resp.status == 200
    return await resp.json()


def credentials(app: str = OA, **overrides: str) -> dict[str, str]:
    params = {"grant_type": "client_credential", "appid": app, "secret": SECRETS[app]}
    return {**params, **overrides}


async def token_for(client: TestClient, appid: str = OA) -> str:
    body = await get_json(client, TOKEN, credentials(appid))
    return body["access_token"]


async def stable_token(client: TestClient, appid: str = OA, **extra: Any) -> dict[str, Any]:
    resp = await client.post(STABLE_TOKEN, json={**credentials(appid), **extra})
    return await resp.json()


async def login(client: TestClient, code: str, app: str = MP, **overrides: str) -> dict:
    params = {
        "appid": app,
        "secret": SECRETS[app],
        "js_code": code,
        "grant_type": "authorization_code",
    }
    return await get_json(client, JSCODE, {**params, **overrides})


async def upload(
    client: TestClient, token: str, data: bytes, media_type: str = "image", field: str = "media"
) -> dict[str, Any]:
    form = aiohttp.FormData()
    # A stream, as aiohttp warns about large raw byte strings in a form.
    form.add_field(field, io.BytesIO(data), filename="photo.jpg", content_type="image/jpeg")
    params = {"access_token": token, "type": media_type}
    resp = await client.post(UPLOAD, params=params, data=form)
    assert resp.status == 200
    return await resp.json()


async def send_text(
    client: TestClient, token: str, openid: str, content: str = "您的报告已生成"
) -> dict[str, Any]:
    body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
    return await post_json(client, CUSTOM, token, body)


async def send_subscribe(
    client: TestClient, token: str, openid: str, **overrides: Any
) -> dict[str, Any]:
    body = {"touser": openid, "template_id": SUBSCRIBE_TEMPLATE, "data": GOOD_DATA, **overrides}
    return await post_json(client, SUBSCRIBE, token, body)


async def send_template(
    client: TestClient, token: str, openid: str, **overrides: Any
) -> dict[str, Any]:
    body = {"touser": openid, "template_id": OA_TEMPLATE, "data": {}, **overrides}
    return await post_json(client, TEMPLATE, token, body)


# --- access tokens --------------------------------------------------------------------------


async def test_a_known_app_gets_a_token_valid_for_7200_seconds(client: TestClient) -> None:
    body = await get_json(client, TOKEN, credentials())

    assert body["expires_in"] == 7200
    assert len(body["access_token"]) >= 32
    assert "errcode" not in body
    assert (await upload(client, body["access_token"], JPEG))["type"] == "image"


@pytest.mark.parametrize(
    ("overrides", "errcode", "errmsg"),
    [
        ({"appid": "wx_nobody"}, 40013, "invalid appid"),
        ({"secret": "wrong"}, 40125, "invalid appsecret"),
        ({"grant_type": "authorization_code"}, 40002, "invalid grant_type"),
        ({"grant_type": ""}, 40002, "invalid grant_type"),
        ({"appid": ""}, 41002, "appid missing"),
        ({"secret": ""}, 41004, "appsecret missing"),
    ],
)
async def test_bad_credentials_get_wechats_errcodes(
    client: TestClient, overrides: dict[str, str], errcode: int, errmsg: str
) -> None:
    body = await get_json(client, TOKEN, credentials(**overrides))

    assert_error(body, errcode, errmsg)
    assert "access_token" not in body


async def test_a_new_token_invalidates_the_previous_one(client: TestClient) -> None:
    old = await token_for(client)
    new = await token_for(client)

    assert new != old
    assert_error(
        await upload(client, old, JPEG),
        40001,
        "invalid credential, access_token is invalid or not latest",
    )
    assert (await upload(client, new, JPEG))["type"] == "image"


async def test_tokens_of_different_apps_do_not_invalidate_each_other(client: TestClient) -> None:
    oa_token = await token_for(client, OA)
    await token_for(client, MP)

    assert "media_id" in await upload(client, oa_token, JPEG)


async def test_a_replaced_token_works_during_the_configured_overlap(
    aiohttp_client: AiohttpClient, clock: FakeClock
) -> None:
    fake = FakeWeChat(apps=SECRETS, clock=clock, token_overlap=300)
    client = await aiohttp_client(create_fake_wechat_app(fake))
    old = await token_for(client)
    await token_for(client)

    clock.advance(299)
    assert "media_id" in await upload(client, old, JPEG)
    clock.advance(1)
    assert_error(
        await upload(client, old, JPEG),
        40001,
        "invalid credential, access_token is invalid or not latest",
    )


async def test_a_token_expires_after_7200_seconds(client: TestClient, clock: FakeClock) -> None:
    token = await token_for(client)

    clock.advance(7199)
    assert "media_id" in await upload(client, token, JPEG)
    clock.advance(1)
    assert_error(await upload(client, token, JPEG), 42001, "access_token expired")


@pytest.mark.parametrize(
    ("token", "errcode", "errmsg"),
    [
        ("not-a-token", 40001, "invalid credential, access_token is invalid or not latest"),
        ("", 41001, "access_token missing"),
    ],
)
async def test_an_unknown_or_missing_token_is_refused(
    client: TestClient, token: str, errcode: int, errmsg: str
) -> None:
    assert_error(await upload(client, token, JPEG), errcode, errmsg)


async def test_a_stable_token_is_reused_until_force_refresh(client: TestClient) -> None:
    first = await stable_token(client)
    again = await stable_token(client, force_refresh=False)
    refreshed = await stable_token(client, force_refresh=True)

    assert again["access_token"] == first["access_token"]
    assert refreshed["access_token"] != first["access_token"]
    assert_error(
        await upload(client, first["access_token"], JPEG),
        40001,
        "invalid credential, access_token is invalid or not latest",
    )
    assert "media_id" in await upload(client, refreshed["access_token"], JPEG)


async def test_a_stable_token_reports_its_remaining_lifetime(
    client: TestClient, clock: FakeClock
) -> None:
    first = await stable_token(client)
    clock.advance(1000)
    again = await stable_token(client)

    assert first["expires_in"] == 7200
    assert again == {"access_token": first["access_token"], "expires_in": 6200}


async def test_stable_and_basic_tokens_live_side_by_side(client: TestClient) -> None:
    stable = (await stable_token(client))["access_token"]
    await token_for(client)
    await stable_token(client)

    assert "media_id" in await upload(client, stable, JPEG)


async def test_a_stable_token_checks_credentials_too(client: TestClient) -> None:
    assert_error(await stable_token(client, secret="wrong"), 40125, "invalid appsecret")
    assert_error(await stable_token(client, grant_type="x"), 40002, "invalid grant_type")


async def test_a_wrong_http_method_gets_43001_or_43002(client: TestClient) -> None:
    token = await token_for(client)
    wrong_get = await get_json(client, CUSTOM, {"access_token": token})
    wrong_post = await (await client.post(TOKEN, params=credentials())).json()

    assert_error(wrong_get, 43002, "require POST method")
    assert_error(wrong_post, 43001, "require GET method")


# --- mini-program login ---------------------------------------------------------------------


async def test_a_js_code_exchanges_for_openid_session_key_and_unionid(
    client: TestClient, fake: FakeWeChat
) -> None:
    body = await login(client, fake.issue_js_code("o_alice", unionid="u_alice"))

    assert body["openid"] == "o_alice"
    assert body["unionid"] == "u_alice"
    assert len(base64.b64decode(body["session_key"])) == 16
    assert "o_alice" in fake.users[MP]


async def test_a_js_code_without_unionid_answers_none(client: TestClient, fake: FakeWeChat) -> None:
    body = await login(client, fake.issue_js_code("o_bob"))

    assert body["openid"] == "o_bob"
    assert "unionid" not in body


async def test_a_js_code_works_only_once(client: TestClient, fake: FakeWeChat) -> None:
    code = fake.issue_js_code("o_alice")
    await login(client, code)

    assert_error(await login(client, code), 40163, "code been used")


async def test_an_unknown_js_code_gets_40029(client: TestClient) -> None:
    assert_error(await login(client, "0a1b2c3d4e5f"), 40029, "invalid code")


async def test_a_missing_js_code_gets_41008(client: TestClient) -> None:
    assert_error(await login(client, ""), 41008, "missing code")


async def test_a_js_code_expires_after_five_minutes(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fresh, stale = fake.issue_js_code("o_alice"), fake.issue_js_code("o_bob")

    clock.advance(300)
    assert (await login(client, fresh))["openid"] == "o_alice"
    clock.advance(1)
    assert_error(await login(client, stale), 40029, "invalid code")


async def test_a_js_code_for_one_app_is_invalid_for_another(
    client: TestClient, fake: FakeWeChat
) -> None:
    code = fake.issue_js_code("o_alice", appid=MP)

    assert_error(await login(client, code, app=OA), 40029, "invalid code")
    assert (await login(client, code, app=MP))["openid"] == "o_alice"


@pytest.mark.parametrize(
    ("overrides", "errcode", "errmsg"),
    [
        ({"secret": "wrong"}, 40125, "invalid appsecret"),
        ({"appid": "wx_nobody"}, 40013, "invalid appid"),
        ({"grant_type": "client_credential"}, 40002, "invalid grant_type"),
    ],
)
async def test_jscode2session_checks_the_app_credentials(
    client: TestClient, fake: FakeWeChat, overrides: dict[str, str], errcode: int, errmsg: str
) -> None:
    code = fake.issue_js_code("o_alice")

    assert_error(await login(client, code, **overrides), errcode, errmsg)
    assert (await login(client, code))["openid"] == "o_alice"


async def test_logins_beyond_the_per_minute_limit_get_45011_until_the_minute_passes(
    aiohttp_client: AiohttpClient, clock: FakeClock
) -> None:
    fake = FakeWeChat(apps=SECRETS, clock=clock, jscode_rate_limit=3)
    client = await aiohttp_client(create_fake_wechat_app(fake))
    for _ in range(3):
        assert "openid" in await login(client, fake.issue_js_code("o_alice"))
    refused = fake.issue_js_code("o_alice")
    other_user = fake.issue_js_code("o_bob")

    assert_error(
        await login(client, refused),
        45011,
        "api minute-quota reach limit mustslower retry next minute",
    )
    assert (await login(client, other_user))["openid"] == "o_bob"
    clock.advance(60)
    assert (await login(client, refused))["openid"] == "o_alice"


async def test_fail_next_forces_one_error_without_side_effects(
    client: TestClient, fake: FakeWeChat
) -> None:
    code = fake.issue_js_code("o_alice")
    fake.fail_next(JSCODE, errcode=-1, errmsg="system error")

    assert_error(await login(client, code), -1, "system error")
    assert (await login(client, code))["openid"] == "o_alice"


async def test_fail_next_can_fail_several_calls_with_the_standard_errmsg(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.fail_next(TOKEN, errcode=45011, times=2)

    assert_error(
        await get_json(client, TOKEN, credentials()),
        45011,
        "api minute-quota reach limit mustslower retry next minute",
    )
    assert_error(
        await get_json(client, TOKEN, credentials()),
        45011,
        "api minute-quota reach limit mustslower retry next minute",
    )
    assert "access_token" in await get_json(client, TOKEN, credentials())


# --- temporary media ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (GIF, "image/gif"), (BMP, "image/bmp")],
)
async def test_an_uploaded_image_can_be_downloaded(
    client: TestClient, clock: FakeClock, data: bytes, content_type: str
) -> None:
    token = await token_for(client)
    body = await upload(client, token, data)

    assert body["type"] == "image"
    assert body["created_at"] == int(clock())
    resp = await client.get(MEDIA_GET, params={"access_token": token, "media_id": body["media_id"]})
    assert resp.status == 200
    assert resp.content_type == content_type
    assert await resp.read() == data


async def test_an_image_may_be_2_mb_and_not_a_byte_more(client: TestClient) -> None:
    token = await token_for(client)
    limit = 2 * 1024 * 1024
    at_limit = JPEG + bytes(limit - len(JPEG))

    assert "media_id" in await upload(client, token, at_limit)
    assert_error(await upload(client, token, at_limit + b"\0"), 40009, "invalid image size")


async def test_an_image_is_judged_by_its_bytes_not_its_name(client: TestClient) -> None:
    token = await token_for(client)

    assert_error(await upload(client, token, PDF), 40005, "invalid file type")


async def test_an_unknown_media_type_gets_40004(client: TestClient) -> None:
    token = await token_for(client)

    assert_error(await upload(client, token, JPEG, media_type="file"), 40004, "invalid media type")


async def test_an_upload_without_the_media_field_gets_41005(client: TestClient) -> None:
    token = await token_for(client)

    assert_error(await upload(client, token, JPEG, field="file"), 41005, "media data missing")


async def test_a_thumb_upload_answers_a_thumb_media_id(client: TestClient) -> None:
    token = await token_for(client)
    body = await upload(client, token, JPEG, media_type="thumb")

    assert body["type"] == "thumb"
    assert "thumb_media_id" in body
    assert "media_id" not in body
    assert_error(await upload(client, token, PNG, media_type="thumb"), 40005, "invalid file type")


async def test_temporary_media_expires_after_three_days(
    client: TestClient, clock: FakeClock
) -> None:
    token = await token_for(client)
    media_id = (await upload(client, token, JPEG))["media_id"]

    clock.advance(3 * DAY - 1)
    token = await token_for(client)  # the first token has long expired
    resp = await client.get(MEDIA_GET, params={"access_token": token, "media_id": media_id})
    assert await resp.read() == JPEG
    clock.advance(1)
    expired = await get_json(client, MEDIA_GET, {"access_token": token, "media_id": media_id})
    assert_error(expired, 40007, "invalid media_id")


async def test_an_unknown_media_id_gets_40007(client: TestClient) -> None:
    token = await token_for(client)
    body = await get_json(client, MEDIA_GET, {"access_token": token, "media_id": "nope"})

    assert_error(body, 40007, "invalid media_id")


async def test_media_belongs_to_the_app_that_uploaded_it(client: TestClient) -> None:
    media_id = (await upload(client, await token_for(client, OA), JPEG))["media_id"]
    mp_token = await token_for(client, MP)
    body = await get_json(client, MEDIA_GET, {"access_token": mp_token, "media_id": media_id})

    assert_error(body, 40007, "invalid media_id")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "jpeg"),
        (PNG, "png"),
        (b"#!AMR\n", "amr"),
        (b"ID3\x04", "mp3"),
        (b"\x00\x00\x00\x18ftypmp42", "mp4"),
        (PDF, None),
        (b"", None),
    ],
)
def test_formats_are_sniffed_by_magic_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_format(data) == expected


# --- customer-service messages --------------------------------------------------------------


async def test_a_text_message_to_a_follower_is_sent_and_kept(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fake.add_follower(OA, "o_alice")
    body = await send_text(client, await token_for(client), "o_alice", "你好")

    assert body == {"errcode": 0, "errmsg": "ok"}
    [message] = fake.sent
    assert (message.kind, message.appid, message.touser) == ("custom", OA, "o_alice")
    assert message.payload["text"] == {"content": "你好"}
    assert message.at == clock()


async def test_a_message_to_an_unknown_openid_gets_40003(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_follower(MP, "o_alice")  # a user of another app is unknown to this one

    assert_error(
        await send_text(client, await token_for(client), "o_alice"), 40003, "invalid openid"
    )
    assert fake.sent == []


async def test_the_48_hour_window_closes_after_the_users_last_message(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fake.add_follower(OA, "o_alice")
    fake.touch("o_alice", at=clock() - 48 * HOUR)
    token = await token_for(client)

    assert (await send_text(client, token, "o_alice"))["errcode"] == 0
    clock.advance(1)
    assert_error(
        await send_text(client, token, "o_alice"),
        45015,
        "response out of time limit or subscription is canceled",
    )
    fake.touch("o_alice")
    assert (await send_text(client, token, "o_alice"))["errcode"] == 0


async def test_following_opens_the_window_too(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fake.add_follower(OA, "o_alice")
    clock.advance(48 * HOUR + 1)

    token = await token_for(client)
    assert_error(
        await send_text(client, token, "o_alice"),
        45015,
        "response out of time limit or subscription is canceled",
    )


async def test_only_five_messages_fit_between_two_user_messages(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_follower(OA, "o_alice")
    token = await token_for(client)
    for _ in range(5):
        assert (await send_text(client, token, "o_alice"))["errcode"] == 0

    assert_error(await send_text(client, token, "o_alice"), 45047, "out of response count limit")
    fake.touch("o_alice")
    assert (await send_text(client, token, "o_alice"))["errcode"] == 0
    assert len(fake.sent_to("o_alice", "custom")) == 6


async def test_the_quota_is_a_constructor_parameter_and_refusals_do_not_use_it(
    aiohttp_client: AiohttpClient,
) -> None:
    fake = FakeWeChat(apps=SECRETS, cs_quota=2)
    client = await aiohttp_client(create_fake_wechat_app(fake))
    fake.add_follower(OA, "o_alice")
    token = await token_for(client)

    assert (await send_text(client, token, "o_alice", ""))["errcode"] == 44004
    assert (await send_text(client, token, "o_alice"))["errcode"] == 0
    assert (await send_text(client, token, "o_alice"))["errcode"] == 0
    assert (await send_text(client, token, "o_alice"))["errcode"] == 45047


async def test_an_unfollowed_user_gets_45015(client: TestClient, fake: FakeWeChat) -> None:
    fake.add_follower(OA, "o_alice")
    fake.remove_follower(OA, "o_alice")

    body = await send_text(client, await token_for(client), "o_alice")
    assert_error(body, 45015, "response out of time limit or subscription is canceled")


@pytest.mark.parametrize(
    ("content", "errcode", "errmsg"),
    [
        ("", 44004, "empty content"),
        ("字" * 683, 45002, "content size out of limit"),  # 2049 bytes of UTF-8
    ],
)
async def test_empty_or_oversized_text_is_refused(
    client: TestClient, fake: FakeWeChat, content: str, errcode: int, errmsg: str
) -> None:
    fake.add_follower(OA, "o_alice")

    assert_error(
        await send_text(client, await token_for(client), "o_alice", content), errcode, errmsg
    )


async def test_text_of_exactly_2048_bytes_is_accepted(client: TestClient, fake: FakeWeChat) -> None:
    fake.add_follower(OA, "o_alice")

    body = await send_text(client, await token_for(client), "o_alice", "a" * 2048)
    assert body["errcode"] == 0


async def test_an_image_message_needs_a_live_media_id_of_the_right_type(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_follower(OA, "o_alice")
    token = await token_for(client)
    thumb_id = (await upload(client, token, JPEG, media_type="thumb"))["thumb_media_id"]
    image_id = (await upload(client, token, JPEG))["media_id"]

    def image(media_id: str) -> dict[str, Any]:
        return {"touser": "o_alice", "msgtype": "image", "image": {"media_id": media_id}}

    assert_error(await post_json(client, CUSTOM, token, image("nope")), 40007, "invalid media_id")
    assert_error(await post_json(client, CUSTOM, token, image(thumb_id)), 40007, "invalid media_id")
    assert_error(await post_json(client, CUSTOM, token, image("")), 41006, "media_id missing")
    assert (await post_json(client, CUSTOM, token, image(image_id)))["errcode"] == 0


@pytest.mark.parametrize(
    ("message", "errcode", "errmsg"),
    [
        ({"msgtype": "fax", "fax": {}}, 40008, "invalid message type"),
        ({"msgtype": "text", "text": "hi"}, 47001, "data format error"),
        ({"msgtype": "news", "news": {"articles": []}}, 44003, "empty news data"),
        ({"msgtype": "news", "news": {"articles": [{}, {}]}}, 45008, "article size out of limit"),
    ],
)
async def test_malformed_messages_get_wechats_errcodes(
    client: TestClient, fake: FakeWeChat, message: dict[str, Any], errcode: int, errmsg: str
) -> None:
    fake.add_follower(OA, "o_alice")
    body = await post_json(
        client, CUSTOM, await token_for(client), {"touser": "o_alice", **message}
    )

    assert_error(body, errcode, errmsg)


@pytest.mark.parametrize(
    ("raw", "errcode", "errmsg"),
    [(b"", 44002, "empty post data"), (b"{not json", 47001, "data format error")],
)
async def test_an_empty_or_malformed_body_is_refused(
    client: TestClient, raw: bytes, errcode: int, errmsg: str
) -> None:
    resp = await client.post(CUSTOM, params={"access_token": await token_for(client)}, data=raw)

    assert_error(await resp.json(), errcode, errmsg)


# --- subscribe messages ---------------------------------------------------------------------


async def test_a_subscribe_message_uses_up_one_grant(client: TestClient, fake: FakeWeChat) -> None:
    fake.add_user(MP, "o_alice")
    fake.grant_subscription("o_alice", SUBSCRIBE_TEMPLATE)
    token = await token_for(client, MP)

    assert await send_subscribe(client, token, "o_alice") == {"errcode": 0, "errmsg": "ok"}
    assert fake.subscriptions_left("o_alice", SUBSCRIBE_TEMPLATE) == 0
    again = await send_subscribe(client, token, "o_alice")
    assert_error(again, 43101, "user refuse to accept the msg")
    [message] = fake.sent_to("o_alice", "subscribe")
    assert message.payload["data"] == GOOD_DATA


async def test_a_user_who_logged_in_can_get_subscribe_messages(
    client: TestClient, fake: FakeWeChat
) -> None:
    await login(client, fake.issue_js_code("o_alice"))
    fake.grant_subscription("o_alice", SUBSCRIBE_TEMPLATE, times=2)
    token = await token_for(client, MP)

    assert (await send_subscribe(client, token, "o_alice"))["errcode"] == 0
    assert (await send_subscribe(client, token, "o_alice"))["errcode"] == 0
    assert (await send_subscribe(client, token, "o_alice"))["errcode"] == 43101


async def test_a_subscribe_message_to_an_unknown_openid_gets_40003(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_follower(OA, "o_alice")  # an OA openid means nothing to the mini-program
    fake.grant_subscription("o_alice", SUBSCRIBE_TEMPLATE)

    body = await send_subscribe(client, await token_for(client, MP), "o_alice")
    assert_error(body, 40003, "invalid openid")


@pytest.mark.parametrize("template_id", ["tmpl_unknown", ""])
async def test_an_unknown_subscribe_template_gets_40037(
    client: TestClient, fake: FakeWeChat, template_id: str
) -> None:
    fake.add_user(MP, "o_alice")

    body = await send_subscribe(
        client, await token_for(client, MP), "o_alice", template_id=template_id
    )
    assert_error(body, 40037, "invalid template_id")


@pytest.mark.parametrize(
    ("data", "errmsg"),
    [
        ({"thing1": {"value": "报告"}}, "argument invalid! data.time2.value is empty"),
        ({**GOOD_DATA, "thing1": {"value": ""}}, "argument invalid! data.thing1.value is empty"),
        (
            {**GOOD_DATA, "thing1": {"value": "长" * 21}},
            "argument invalid! data.thing1.value invalid",
        ),
        ({**GOOD_DATA, "thing1": {"value": 7}}, "argument invalid! data.thing1.value invalid"),
        (
            {**GOOD_DATA, "character_string3": {"value": "编号"}},
            "argument invalid! data.character_",
        ),
        ("thing1=报告", "argument invalid! data invalid"),
    ],
)
async def test_bad_subscribe_data_gets_47003_and_keeps_the_grant(
    client: TestClient, fake: FakeWeChat, data: object, errmsg: str
) -> None:
    fake.add_user(MP, "o_alice")
    fake.grant_subscription("o_alice", SUBSCRIBE_TEMPLATE)

    body = await send_subscribe(client, await token_for(client, MP), "o_alice", data=data)
    assert body["errcode"] == 47003
    assert body["errmsg"].startswith(errmsg)
    assert fake.subscriptions_left("o_alice", SUBSCRIBE_TEMPLATE) == 1


async def test_an_invalid_miniprogram_state_gets_47003(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_user(MP, "o_alice")
    fake.grant_subscription("o_alice", SUBSCRIBE_TEMPLATE, times=2)
    token = await token_for(client, MP)

    body = await send_subscribe(client, token, "o_alice", miniprogram_state="staging")
    assert_error(body, 47003, "argument invalid! miniprogram_state invalid")
    assert (await send_subscribe(client, token, "o_alice", miniprogram_state="trial"))[
        "errcode"
    ] == 0


def test_granting_an_unknown_template_is_a_test_mistake(fake: FakeWeChat) -> None:
    with pytest.raises(KeyError, match="tmpl_typo"):
        fake.grant_subscription("o_alice", "tmpl_typo")


# --- OA template messages -------------------------------------------------------------------


async def test_a_template_message_answers_a_fresh_msgid(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_follower(OA, "o_alice")
    token = await token_for(client)
    first = await send_template(client, token, "o_alice")
    second = await send_template(client, token, "o_alice")

    assert (first["errcode"], first["errmsg"]) == (0, "ok")
    assert isinstance(first["msgid"], int)
    assert second["msgid"] != first["msgid"]
    assert [m.msgid for m in fake.sent_to("o_alice", "template")] == [
        first["msgid"],
        second["msgid"],
    ]


async def test_template_messages_ignore_the_48_hour_window(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fake.add_follower(OA, "o_alice")
    clock.advance(30 * DAY)

    assert (await send_template(client, await token_for(client), "o_alice"))["errcode"] == 0


@pytest.mark.parametrize(
    ("overrides", "errcode", "errmsg"),
    [
        ({"touser": "o_stranger"}, 40003, "invalid openid"),
        ({"template_id": "tmpl_unknown"}, 40037, "invalid template_id"),
        ({"template_id": ""}, 40036, "invalid template_id size"),
        ({"data": "x"}, 47001, "data format error"),
    ],
)
async def test_bad_template_messages_get_wechats_errcodes(
    client: TestClient, fake: FakeWeChat, overrides: dict[str, Any], errcode: int, errmsg: str
) -> None:
    fake.add_follower(OA, "o_alice")

    body = await send_template(client, await token_for(client), "o_alice", **overrides)
    assert_error(body, errcode, errmsg)
    assert fake.sent_to("o_alice") == []


async def test_a_template_message_to_an_unfollowed_user_gets_43004(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.add_follower(OA, "o_alice")
    fake.remove_follower(OA, "o_alice")

    body = await send_template(client, await token_for(client), "o_alice")
    assert_error(body, 43004, "require subscribe")


async def test_a_client_msg_id_sends_once_per_user_within_ten_minutes(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fake.add_follower(OA, "o_alice")
    fake.add_follower(OA, "o_bob")
    token = await token_for(client)

    assert (await send_template(client, token, "o_alice", client_msg_id="n1"))["errcode"] == 0
    again = await send_template(client, token, "o_alice", client_msg_id="n1")
    assert_error(again, 45065, "clientmsgid exist")
    assert (await send_template(client, token, "o_bob", client_msg_id="n1"))["errcode"] == 0
    clock.advance(10 * 60)
    assert (await send_template(client, token, "o_alice", client_msg_id="n1"))["errcode"] == 0
    too_long = await send_template(client, token, "o_alice", client_msg_id="x" * 65)
    assert_error(too_long, 45067, "clientmsgid size out of limit")
    assert len(fake.sent_to("o_alice", "template")) == 2


# --- call records and error texts -----------------------------------------------------------


async def test_every_call_is_recorded_with_query_body_and_answer(
    client: TestClient, fake: FakeWeChat, clock: FakeClock
) -> None:
    fake.add_follower(OA, "o_alice")
    token = await token_for(client)
    clock.advance(5)
    await send_text(client, token, "o_alice", "hi")
    await send_text(client, "bad-token", "o_alice", "hi")

    expected = [("GET", TOKEN), ("POST", CUSTOM), ("POST", CUSTOM)]
    assert [(call.method, call.path) for call in fake.calls] == expected
    ok, refused = fake.calls_to(CUSTOM)
    assert ok.query == {"access_token": token}
    assert ok.body == {"touser": "o_alice", "msgtype": "text", "text": {"content": "hi"}}
    assert ok.response == {"errcode": 0, "errmsg": "ok"}
    assert ok.at == clock()
    assert (ok.errcode, refused.errcode) == (0, 40001)
    assert fake.calls[0].response["access_token"] == token


async def test_an_upload_is_recorded_as_a_summary_of_its_form(
    client: TestClient, fake: FakeWeChat
) -> None:
    token = await token_for(client)
    media_id = (await upload(client, token, JPEG))["media_id"]
    await client.get(MEDIA_GET, params={"access_token": token, "media_id": media_id})

    [uploaded] = fake.calls_to(UPLOAD)
    assert uploaded.body == {
        "media": {"filename": "photo.jpg", "content_type": "image/jpeg", "size": len(JPEG)}
    }
    [downloaded] = fake.calls_to(MEDIA_GET)
    assert downloaded.response == {"content_type": "image/jpeg", "size": len(JPEG)}


async def test_error_messages_end_in_a_rid_like_the_real_api(client: TestClient) -> None:
    body = await get_json(client, TOKEN, credentials(secret="wrong"))

    assert re.fullmatch(
        r"invalid appsecret rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}", body["errmsg"]
    )


async def test_the_rid_can_be_turned_off_for_exact_messages(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(create_fake_wechat_app(FakeWeChat(apps=SECRETS, rid=False)))

    body = await get_json(client, TOKEN, credentials(secret="wrong"))
    assert body == {"errcode": 40125, "errmsg": "invalid appsecret"}


# --- control API and command line -----------------------------------------------------------


async def test_the_control_api_drives_a_running_fake(
    aiohttp_server: AiohttpServer, fake: FakeWeChat
) -> None:
    server = await aiohttp_server(create_fake_wechat_app(fake))
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        resp = await session.post("/_fake/js_code", json={"openid": "o_alice", "appid": MP})
        code = (await resp.json())["code"]
        await session.post("/_fake/followers", json={"appid": OA, "openid": "o_bob"})
        params = credentials(MP, js_code=code, grant_type="authorization_code")
        login_body = await (await session.get(JSCODE, params=params)).json()
        token = (await (await session.get(TOKEN, params=credentials())).json())["access_token"]
        message = {"touser": "o_bob", "msgtype": "text", "text": {"content": "hi"}}
        await session.post(CUSTOM, params={"access_token": token}, json=message)
        sent = await (await session.get("/_fake/sent")).json()
        calls = await (await session.get("/_fake/calls")).json()
        bad = await session.post("/_fake/followers", json={"appid": "wx_nobody", "openid": "x"})

    assert login_body["openid"] == "o_alice"
    assert [(m["kind"], m["touser"]) for m in sent] == [("custom", "o_bob")]
    assert [c["path"] for c in calls] == [JSCODE, TOKEN, CUSTOM]
    assert bad.status == 400


def test_main_serves_the_apps_and_templates_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[tuple[str, int, FakeWeChat]] = []
    monkeypatch.setattr(wechat, "run_fake_wechat", lambda *args: served.append(args))

    wechat.main(["--port", "9099", "--app", "wx_a:sa", "--template", "tmpl:thing1,time2"])

    [(host, port, fake)] = served
    assert (host, port) == ("127.0.0.1", 9099)
    assert fake.apps == {"wx_a": "sa"}
    assert fake.templates == {"tmpl": ("thing1", "time2")}
    assert "wx_a" in capsys.readouterr().out


def test_main_refuses_an_app_without_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        wechat.main(["--app", "wx_a"])
    assert "--app expects KEY:VALUE" in capsys.readouterr().err


async def test_a_photo_a_user_sent_can_be_downloaded_by_the_oa(
    client: TestClient, fake: FakeWeChat
) -> None:
    media_id = fake.add_user_media(OA, JPEG)

    resp = await client.get(MEDIA_GET, params={"access_token": await token_for(client),
                                               "media_id": media_id})  # fmt: skip
    assert resp.status == 200
    assert await resp.read() == JPEG


async def test_a_forced_http_error_answers_a_bare_status_once(
    client: TestClient, fake: FakeWeChat
) -> None:
    fake.fail_next_http(TOKEN, 503)

    assert (await client.get(TOKEN, params=credentials())).status == 503
    assert (await client.get(TOKEN, params=credentials())).status == 200
    assert fake.calls_to(TOKEN)[0].response == {"http_status": 503}


async def test_the_sent_listing_can_be_narrowed_to_one_user(
    aiohttp_server: AiohttpServer, fake: FakeWeChat
) -> None:
    fake.add_follower(OA, "o_alice")
    fake.add_follower(OA, "o_bob")
    server = await aiohttp_server(create_fake_wechat_app(fake))
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        token = (await (await session.get(TOKEN, params=credentials())).json())["access_token"]
        for openid in ("o_alice", "o_bob"):
            message = {"touser": openid, "msgtype": "text", "text": {"content": "你好"}}
            await session.post(CUSTOM, params={"access_token": token}, json=message)
        mine = await (await session.get("/_fake/sent", params={"touser": "o_bob"})).json()
        media = await session.post(
            "/_fake/user_media",
            json={"appid": OA, "data": base64.b64encode(JPEG).decode()},
        )
        media_id = (await media.json())["media_id"]

    assert [(m["touser"], m["payload"]["text"]["content"]) for m in mine] == [("o_bob", "你好")]
    assert fake.media[media_id].data == JPEG
