"""Logging in to the web site: WeChat web authorisation inside WeChat, OpenID Connect outside it.

Both are redirect flows. `start_*` remembers the login in Redis under a random `state` (with the
browser's own nonce, the PKCE verifier and the OpenID nonce) and returns the URL to send the
browser to; `finish_*` takes the state back once, redeems the code and finds or creates the user.

- WeChat (网页授权, scope snsapi_base): the code is redeemed at /sns/oauth2/access_token for the
  user's openid under the Official Account, the same openid the bot knows, so bindings made by
  conversation show on the site too.
- OpenID Connect (authorisation code with PKCE S256): any provider with a discovery document;
  the ID token's signature (from the provider's JWKS), issuer, audience, expiry and nonce are
  checked. The subject is stored only as a keyed hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from redis.asyncio import Redis

from config.settings import Settings
from models.user import User
from services.accounts.mp_login import wechat_error
from services.accounts.web_sessions import remember_login, take_login
from services.audit import append_audit
from services.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=5)
WECHAT_AUTHORIZE = "/connect/oauth2/authorize"
WECHAT_ACCESS_TOKEN = "/sns/oauth2/access_token"
ID_TOKEN_LEEWAY_S = 60


class LoginFailed(ServiceError):
    """The identity provider refused the login, or its answer did not check out."""

    status = 401
    code = "login_failed"
    message = "登录未成功，请重新登录"


@dataclass(frozen=True)
class LoginStart:
    url: str
    browser_nonce: str  # set as a cookie: the callback must come back to the same browser


@dataclass(frozen=True)
class Callback:
    """What the provider sent the browser back with, and the browser's own login cookie."""

    redirect_uri: str  # the callback URL itself, as sent in the authorisation request
    code: str
    state: str
    browser: str
    error: str = ""


def _random() -> str:
    return secrets.token_urlsafe(32)


async def _begin(redis: Redis, provider: str, extra: dict[str, str]) -> tuple[str, str]:
    state, browser = _random(), _random()
    await remember_login(redis, state, {"provider": provider, "browser": browser, **extra})
    return state, browser


async def _take(redis: Redis, provider: str, back: Callback) -> dict[str, str]:
    """The login this callback finishes; refused when unknown, used, or from another browser."""
    login = await take_login(redis, back.state)
    if (
        login is None
        or login["provider"] != provider
        or not hmac.compare_digest(login["browser"].encode(), back.browser.encode())
    ):
        raise LoginFailed("登录请求已失效或不是从本浏览器发起的，请重新登录", code="login_state")
    return login


async def _json(
    http: aiohttp.ClientSession, method: str, url: str, what: str, **kwargs: Any
) -> dict[str, Any]:
    try:
        async with http.request(method, url, timeout=TIMEOUT, **kwargs) as response:
            # WeChat answers text/plain JSON; read the text and parse it ourselves.
            body = json.loads(await response.text())
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("%s unreachable: %s", what, type(exc).__name__)
        raise Unavailable(f"暂时无法连接{what}，请稍后再试", code="idp_unreachable") from exc
    if not isinstance(body, dict):
        raise Unavailable(f"{what}的应答无法识别，请稍后再试", code="idp_unreachable")
    return body


# --- WeChat web authorisation ----------------------------------------------------------------


async def start_wechat(redis: Redis, settings: Settings, callback_url: str) -> LoginStart:
    state, browser = await _begin(redis, "wechat", {})
    query = urlencode(
        {
            "appid": settings.wechat_app_id,
            "redirect_uri": callback_url,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    url = f"{settings.wechat_open_base.rstrip('/')}{WECHAT_AUTHORIZE}?{query}#wechat_redirect"
    return LoginStart(url, browser)


async def finish_wechat(
    redis: Redis, http: aiohttp.ClientSession, settings: Settings, back: Callback
) -> User:
    """Redeem the authorisation code for the openid; the user is the one the bot knows."""
    await _take(redis, "wechat", back)
    code = back.code
    if not code:  # the user declined on WeChat's page
        raise LoginFailed("您未同意微信授权，未能登录", code="wx_authorisation_declined")
    params = {
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_secret,
        "code": code,
        "grant_type": "authorization_code",
    }
    url = settings.wechat_api_base.rstrip("/") + WECHAT_ACCESS_TOKEN
    body = await _json(http, "GET", url, "微信", params=params)
    errcode = int(body.get("errcode") or 0)
    if errcode or not body.get("openid"):
        log.info("oauth2/access_token refused: errcode %s", errcode)
        raise wechat_error(errcode or -1)
    return await _logged_in_user("wechat", oa_openid=body["openid"])


# --- OpenID Connect --------------------------------------------------------------------------


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def discover(http: aiohttp.ClientSession, settings: Settings) -> dict[str, Any]:
    """The provider's discovery document (/.well-known/openid-configuration)."""
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = await _json(http, "GET", url, "统一身份认证平台")
    if document.get("issuer") != settings.oidc_issuer.rstrip("/"):
        raise Unavailable("统一身份认证平台配置有误，请稍后再试", code="idp_misconfigured")
    return document


async def start_oidc(
    redis: Redis, http: aiohttp.ClientSession, settings: Settings, callback_url: str
) -> LoginStart:
    document = await discover(http, settings)
    verifier, nonce = _random() + _random(), _random()
    state, browser = await _begin(redis, "oidc", {"verifier": verifier, "nonce": nonce})
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": callback_url,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    return LoginStart(f"{document['authorization_endpoint']}?{query}", browser)


async def finish_oidc(
    redis: Redis, http: aiohttp.ClientSession, settings: Settings, back: Callback
) -> User:
    """Exchange the code (with the PKCE verifier) and check the ID token; the user by subject."""
    login = await _take(redis, "oidc", back)
    if back.error or not back.code:
        raise LoginFailed("您在统一身份认证平台取消了登录或未获授权", code="idp_declined")
    document = await discover(http, settings)
    form = {
        "grant_type": "authorization_code",
        "code": back.code,
        "redirect_uri": back.redirect_uri,
        "code_verifier": login["verifier"],
    }
    tokens = await _json(
        http,
        "POST",
        document["token_endpoint"],
        "统一身份认证平台",
        data=form,
        headers={"Authorization": _client_basic(settings)},
    )
    if "id_token" not in tokens:
        log.info("oidc token endpoint refused: %s", tokens.get("error"))
        raise LoginFailed("统一身份认证平台未通过本次登录，请重新登录", code="idp_refused")
    keys = KeySet.import_key_set(await _json(http, "GET", document["jwks_uri"], "统一身份认证平台"))
    claims = _check_id_token(tokens["id_token"], keys, settings, login["nonce"])
    return await _logged_in_user("oidc", web_subject=web_subject(settings, claims["sub"]))


def _client_basic(settings: Settings) -> str:
    """client_secret_basic: id and secret form-encoded first (RFC 6749 §2.3.1)."""
    pair = f"{quote_plus(settings.oidc_client_id)}:{quote_plus(settings.oidc_client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _check_id_token(
    token: str, keys: KeySet, settings: Settings, nonce: str, now: float | None = None
) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, keys, algorithms=["ES256", "RS256", "PS256"]).claims
    except (JoseError, ValueError) as exc:
        raise LoginFailed("身份令牌签名无效，请重新登录", code="id_token_invalid") from exc
    now = time.time() if now is None else now
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    problems = (
        claims.get("iss") != settings.oidc_issuer.rstrip("/"),
        settings.oidc_client_id not in audiences,
        not isinstance(claims.get("exp"), int) or claims["exp"] + ID_TOKEN_LEEWAY_S < now,
        not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()),
        not isinstance(claims.get("sub"), str) or not claims["sub"],
    )
    if any(problems):
        raise LoginFailed("身份令牌校验未通过，请重新登录", code="id_token_invalid")
    return claims


def web_subject(settings: Settings, sub: str) -> str:
    """The stored form of a provider's subject: keyed, so the plain value is never kept."""
    message = f"oidc:{settings.oidc_issuer.rstrip('/')}|{sub}".encode()
    return hmac.new(settings.id_hash_key.encode(), message, hashlib.sha256).hexdigest()


async def _logged_in_user(method: str, **identity: str) -> User:
    """The user with this identity, created on first login; seen now, and audited."""
    now = datetime.now(UTC)
    user, _ = await User.get_or_create(**identity, defaults={"last_seen_at": now})
    user.last_seen_at = now
    await user.save(update_fields=["last_seen_at"])
    await append_audit(f"user:{user.id}", "web.login", "user", str(user.id), {"method": method})
    return user
