"""Mini-program login (小程序登录): a wx.login() code becomes YuCredit's own session token.

WeChat is reached with aiohttp (never wechatpy's synchronous client on the event loop), only
through settings.wechat_api_base. The session_key WeChat returns is kept server-side in the
session and is never returned, logged or audited.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis

from config import clock
from config.settings import Settings
from models.user import User
from services.accounts.mp_sessions import create_session
from services.audit import append_audit
from services.errors import InvalidRequest, ServiceError, Unauthorized, Unavailable
from services.ratelimit import TooManyRequests

log = logging.getLogger(__name__)

JSCODE2SESSION = "/sns/jscode2session"
CODE_MAX_LENGTH = 128
# A code lives 5 minutes at WeChat; we remember a used one a little longer.
USED_CODE_TTL_S = 10 * 60
WECHAT_TIMEOUT = aiohttp.ClientTimeout(total=5)


class WeChatLoginFailed(ServiceError):
    """WeChat refused the login for a reason the user cannot fix by trying another code."""

    status = 502
    code = "wechat_login_failed"
    message = "微信登录失败，请稍后再试"


@dataclass(frozen=True)
class WxSession:
    openid: str
    unionid: str | None
    session_key: str  # stays on the server


@dataclass(frozen=True)
class LoginResult:
    token: str
    user_id: int
    expires_in: int


def wechat_error(errcode: int) -> ServiceError:
    """WeChat's jscode2session errcode as an error the user can read."""
    if errcode == 40029:
        return Unauthorized("登录凭证（code）无效或已过期，请重新登录", code="wx_code_invalid")
    if errcode == 40163:
        return Unauthorized("登录凭证（code）已被使用，请重新登录", code="wx_code_used")
    if errcode == 45011:
        return TooManyRequests(
            "登录过于频繁，请一分钟后再试", code="wx_rate_limited", retry_after_s=60
        )
    if errcode == -1:
        return Unavailable("微信系统繁忙，请稍后再试", code="wx_busy", retry_after_s=5)
    return WeChatLoginFailed(f"微信登录失败（错误码 {errcode}），请稍后再试", errcode=errcode)


async def code2session(http: aiohttp.ClientSession, settings: Settings, code: str) -> WxSession:
    """Redeem a wx.login() code at WeChat's jscode2session."""
    params = {
        "appid": settings.mp_app_id,
        "secret": settings.mp_secret,
        "js_code": code,
        "grant_type": "authorization_code",
    }
    url = settings.wechat_api_base.rstrip("/") + JSCODE2SESSION
    try:
        async with http.get(url, params=params, timeout=WECHAT_TIMEOUT) as response:
            # WeChat answers text/plain JSON: parse the text ourselves.
            body = json.loads(await response.text())
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("jscode2session unreachable: %s", type(exc).__name__)
        raise Unavailable("暂时无法连接微信，请稍后再试", code="wx_unreachable") from exc
    errcode = int(body.get("errcode") or 0)
    if errcode or not body.get("openid") or not body.get("session_key"):
        # errmsg is safe to log; the body is not (it may hold a session_key).
        log.info("jscode2session refused: errcode %s", errcode)
        raise wechat_error(errcode or -1)
    return WxSession(body["openid"], body.get("unionid") or None, body["session_key"])


def _code_key(code: str) -> str:
    return "mp:code:" + hashlib.sha256(code.encode()).hexdigest()


async def _claim_code(redis: Redis, code: str) -> None:
    """Each code is redeemed once, even when two requests race before WeChat answers."""
    if not await redis.set(_code_key(code), "1", nx=True, ex=USED_CODE_TTL_S):
        raise wechat_error(40163)


async def user_for(wx: WxSession) -> User:
    """The user with this mini-program openid, created on first login; unionid kept up to date."""
    now = clock.utc_now()
    user, created = await User.get_or_create(mp_openid=wx.openid, defaults={"last_seen_at": now})
    if not created or (wx.unionid and user.unionid != wx.unionid):
        user.last_seen_at = now
        user.unionid = wx.unionid or user.unionid
        await user.save(update_fields=["last_seen_at", "unionid"])
    return user


async def login(
    redis: Redis, http: aiohttp.ClientSession, settings: Settings, code: str, client: str = ""
) -> LoginResult:
    """Log a mini-program user in with a wx.login() code; audited."""
    given = code if isinstance(code, str) else ""
    code = given.strip()
    if not given or len(code) > CODE_MAX_LENGTH:
        raise InvalidRequest("请提供 wx.login() 返回的登录凭证 code", code="code_required")
    if not code:  # spaces only: no code WeChat ever issued, refused as WeChat would refuse it
        raise wechat_error(40029)
    await _claim_code(redis, code)
    try:
        wx = await code2session(http, settings, code)
    except ServiceError as exc:
        if exc.status in (429, 503):  # WeChat did not use the code: it may be tried again
            await redis.delete(_code_key(code))
        raise
    user = await user_for(wx)
    session = await create_session(redis, user.id, wx.session_key, settings.mp_session_ttl_s)
    await append_audit(f"user:{user.id}", "mp.login", "user", str(user.id), {"client": client})
    return LoginResult(session.token, user.id, settings.mp_session_ttl_s)
