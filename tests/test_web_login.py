"""The web site's logins (WeChat web authorisation, OpenID Connect with PKCE), its cookie
session and its CSRF protection."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.oidc import FakeOidcProvider, create_fake_oidc_app
from fakes.wechat import FakeWeChat
from handlers.app import create_app
from models.audit import AuditEntry
from models.user import Binding, User
from services.accounts.web_login import web_subject
from tests.test_mp_support import ENTERPRISES, make_enterprises
from tests.web_support import csrf_of, path_of, post_form, wechat_login

CALLBACK = "http://yucredit.test/web/login/oidc/callback"


async def test_wechat_login_finds_the_user_the_bot_knows_by_openid(mp_cli, fake_wechat: FakeWeChat):
    made = await make_enterprises()
    user = await User.create(oa_openid="o_bot_user")
    await Binding.create(
        user=user,
        enterprise=made["A"],
        role="legal_representative",
        scopes=["reports", "objections"],
    )
    await wechat_login(mp_cli, fake_wechat, "o_bot_user")
    r = await mp_cli.get("/web/")
    assert r.status == 200
    assert ENTERPRISES["A"][1] in await r.text()
    assert await User.filter(oa_openid="o_bot_user").count() == 1
    call = fake_wechat.calls_to("/sns/oauth2/access_token")[-1]
    assert call.query["grant_type"] == "authorization_code" and call.errcode == 0
    assert await AuditEntry.filter(action="web.login").count() == 1


async def test_the_login_redirect_asks_wechat_for_snsapi_base(mp_cli, settings_on_fake: Settings):
    r = await mp_cli.get("/web/login/wechat", allow_redirects=False)
    url = urlsplit(r.headers["Location"])
    query = parse_qs(url.query)
    assert url.path == "/connect/oauth2/authorize" and url.fragment == "wechat_redirect"
    assert query["scope"] == ["snsapi_base"] and query["response_type"] == ["code"]
    assert query["appid"] == [settings_on_fake.wechat_app_id]
    assert query["redirect_uri"] == ["http://yucredit.test/web/login/wechat/callback"]
    cookie = r.headers["Set-Cookie"]
    assert "yc_login=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_a_used_wechat_code_is_refused_in_chinese(mp_cli, fake_wechat: FakeWeChat):
    r = await mp_cli.get("/web/login/wechat", allow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    callback = fake_wechat.authorize(query, "o_x")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    fake_wechat._oauth_codes[code].used = True  # redeemed elsewhere a moment ago
    r = await mp_cli.get(path_of(callback), allow_redirects=False)
    assert r.status == 401
    assert "登录凭证（code）已被使用" in await r.text()
    assert "yc_web" not in r.cookies


async def test_a_callback_from_another_browser_is_refused(mp_cli, fake_wechat):
    r = await mp_cli.get("/web/login/wechat", allow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    callback = fake_wechat.authorize(query, "o_victim")
    mp_cli.session.cookie_jar.clear()  # another browser: it lacks the login cookie of this state
    r = await mp_cli.get(path_of(callback), allow_redirects=False)
    assert r.status == 401
    assert "不是从本浏览器发起" in await r.text()
    assert fake_wechat.calls_to("/sns/oauth2/access_token") == []


async def test_the_fake_authorise_page_shows_wechat_errors(
    fake_wechat: FakeWeChat, settings: Settings
):
    from fakes.wechat import WeChatError

    good = {
        "appid": settings.wechat_app_id,
        "redirect_uri": "https://credit.example.gov.cn/cb",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "s",
    }
    fake_wechat.oauth_domains[settings.wechat_app_id] = "credit.example.gov.cn"
    cases = [
        ({"redirect_uri": "https://evil.example/cb"}, 10003),
        ({"appid": "wx_unknown"}, 10016),
        ({"scope": ""}, 10010),
        ({"scope": "snsapi_login"}, 10005),
        ({"redirect_uri": ""}, 10011),
    ]
    for change, errcode in cases:
        with pytest.raises(WeChatError) as caught:
            fake_wechat.authorize({**good, **change}, "o_x")
        assert caught.value.errcode == errcode, change
    assert "code=" in fake_wechat.authorize(good, "o_x")


async def test_the_fake_access_token_endpoint_answers_wechats_errcodes(
    fake_wechat: FakeWeChat, settings: Settings
):
    callback = fake_wechat.authorize(
        {
            "appid": settings.wechat_app_id,
            "scope": "snsapi_base",
            "redirect_uri": "http://x/cb",
            "response_type": "code",
        },
        "o_y",
    )
    code = parse_qs(urlsplit(callback).query)["code"][0]
    base = {
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_secret,
        "grant_type": "authorization_code",
    }
    async with aiohttp.ClientSession(fake_wechat.base_url) as http:

        async def ask(**params: str) -> dict:
            async with http.get("/sns/oauth2/access_token", params={**base, **params}) as r:
                return await r.json(content_type=None)

        assert (await ask(code=code, secret="wrong"))["errcode"] == 40125
        assert (await ask(code="nonsense"))["errcode"] == 40029
        assert (await ask())["errcode"] == 41008
        first = await ask(code=code)
        assert first["openid"] == "o_y" and first["scope"] == "snsapi_base"
        assert first["expires_in"] == 7200 and first["refresh_token"]
        assert (await ask(code=code))["errcode"] == 40163


@pytest.fixture
async def oidc(aiohttp_server, settings: Settings):  # type: ignore[no-untyped-def]
    provider = FakeOidcProvider({"yucredit-web": ("oidc-secret", (CALLBACK,))})
    server = await aiohttp_server(create_fake_oidc_app(provider))
    provider.issuer = str(server.make_url("")).rstrip("/")
    return provider


@pytest.fixture
async def oidc_cli(aiohttp_client, settings: Settings, oidc: FakeOidcProvider, db, redis: Redis):  # type: ignore[no-untyped-def]
    configured = replace(settings, oidc_issuer=oidc.issuer, oidc_client_secret="oidc-secret")
    return await aiohttp_client(create_app(configured)), configured


async def _provider_login(cli, name: str) -> aiohttp.ClientResponse:  # type: ignore[no-untyped-def]
    """Start at the site, sign in at the provider's page as `name`, come back to the callback."""
    r = await cli.get("/web/login/oidc", allow_redirects=False)
    assert r.status == 302, await r.text()
    authorize = r.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    async with aiohttp.ClientSession() as browser:
        form = {**query, "name": name, "decision": "allow"}
        async with browser.post(authorize.split("?")[0], data=form, allow_redirects=False) as p:
            assert p.status == 302, await p.text()
            callback = p.headers["Location"]
    return await cli.get(path_of(callback), allow_redirects=False)


async def test_oidc_login_with_pkce_keeps_only_a_keyed_subject(oidc_cli, oidc: FakeOidcProvider):
    cli, settings = oidc_cli
    r = await _provider_login(cli, "蔡雪莉")
    assert r.status == 302 and r.headers["Location"] == "/web/", await r.text()
    subject = oidc.subject_for("yucredit-web", "蔡雪莉")
    user = await User.get(web_subject=web_subject(settings, subject))
    assert subject not in user.web_subject
    assert oidc.token_requests[-1]["grant_type"] == "authorization_code"
    again = await _provider_login(cli, "蔡雪莉")  # the same person: the same user
    assert again.status == 302 and await User.filter(web_subject__not_isnull=True).count() == 1


async def test_the_provider_refuses_a_wrong_pkce_verifier(oidc: FakeOidcProvider):
    query = {"client_id": "yucredit-web", "redirect_uri": CALLBACK, "code_challenge": "x" * 43}
    code = oidc.issue_code(query, "张三")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": "not-the-verifier",
    }
    status, body = oidc.exchange(form, "yucredit-web", "oidc-secret")
    assert (status, body["error"]) == (400, "invalid_grant")
    assert oidc.exchange(form, "yucredit-web", "wrong")[0] == 401


async def test_declining_at_the_provider_says_so(oidc_cli):
    cli, _ = oidc_cli
    r = await cli.get("/web/login/oidc", allow_redirects=False)
    state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    r = await cli.get(f"/web/login/oidc/callback?error=access_denied&state={state}")
    assert r.status == 401 and "取消了登录" in await r.text()


async def test_the_session_cookie_is_httponly_samesite_and_secure_behind_https(
    aiohttp_client, settings_on_fake: Settings, fake_wechat, db, redis
):
    secure = replace(settings_on_fake, public_base_url="https://credit.example.gov.cn")
    cli = await aiohttp_client(create_app(secure))
    r = await cli.get("/web/login/wechat", allow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    assert query["redirect_uri"].startswith("https://credit.example.gov.cn/web/")
    # The test client speaks plain HTTP, so it would not send a Secure cookie back: read it.
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_pages_need_a_login(cli):
    r = await cli.get("/web/reports", allow_redirects=False)
    assert (r.status, r.headers["Location"]) == (302, "/web/login")
    r = await cli.get("/", allow_redirects=False)
    assert r.headers["Location"] == "/web/"


async def test_an_expired_session_goes_to_the_login_page_saying_so(
    mp_cli, fake_wechat, redis: Redis
):
    await wechat_login(mp_cli, fake_wechat, "o_expiring")
    for key in await redis.keys("web:session:*"):
        await redis.delete(key)  # as the TTL would
    r = await mp_cli.get("/web/reports", allow_redirects=False)
    assert (r.status, r.headers["Location"]) == (302, "/web/login?expired=1")
    r = await mp_cli.get("/web/login?expired=1")
    assert "登录已过期" in await r.text()


async def test_a_form_without_the_csrf_token_is_refused(mp_cli, fake_wechat):
    await make_enterprises()
    await wechat_login(mp_cli, fake_wechat, "o_csrf")
    uscc, name, rep, id_number = ENTERPRISES["A"]
    form = {"uscc": uscc, "enterprise_name": name, "legal_rep_name": rep, "id_number": id_number}
    r = await mp_cli.post("/web/enterprises", data=form, allow_redirects=False)
    assert r.status == 403 and "CSRF" in await r.text()
    r = await post_form(mp_cli, "/web/enterprises", form, csrf="forged")
    assert r.status == 403
    assert await Binding.all().count() == 0
    r = await post_form(mp_cli, "/web/enterprises", form, csrf=await csrf_of(mp_cli))
    assert r.status == 303 and await Binding.all().count() == 1


async def test_logging_out_ends_the_session(mp_cli, fake_wechat):
    await wechat_login(mp_cli, fake_wechat, "o_leaving")
    r = await post_form(mp_cli, "/web/logout", {})
    assert (r.status, r.headers["Location"]) == (303, "/web/login")
    r = await mp_cli.get("/web/", allow_redirects=False)
    assert r.status == 302
