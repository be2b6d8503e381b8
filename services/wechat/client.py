"""WeChat's HTTP API over aiohttp (never wechatpy's synchronous client on the event loop).

One access token per app serves every process: it lives in Redis, is refreshed by whoever holds
a short lock (so it is never fetched twice at once: a fetch invalidates the previous token), and
is refreshed ahead of its expiry. Calls retry HTTP 5xx, network errors and errcode -1 with
backoff, and fetch a new token once on 40001/40014/42001.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from config.settings import Settings
from queues.envelope import text

log = logging.getLogger(__name__)

# The token was replaced (40001), is malformed (40014) or expired (42001): fetch a new one.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
SYSTEM_BUSY = -1
# Outside the 48-hour window (or unfollowed), and over the per-window quota.
OUT_OF_WINDOW = 45015
OVER_QUOTA = 45047
# A template message whose client_msg_id was already used: it went out before.
CLIENT_MSG_ID_USED = 45065
MEDIA_MAX_BYTES = 2 * 1024 * 1024  # temporary images
CLIENT_MSG_ID_MAX = 64
HTTP_TIMEOUT_S = 10.0

# Delete the cached token only if it is still the one that failed: a newer one stays.
_DROP_IF_SAME = AsyncScript(
    None,  # type: ignore[arg-type]
    b"""
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""",
)
_RELEASE_LOCK = AsyncScript(
    None,  # type: ignore[arg-type]
    b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""",
)


class WeChatApiError(Exception):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")


class WeChatUnavailable(Exception):
    """WeChat did not answer usefully after every retry (5xx, timeouts, -1)."""


class MediaTooLarge(ValueError):
    """A temporary image must be at most 2 MB."""


@dataclass(frozen=True)
class WeChatApp:
    """An app's credentials: the Official Account or the mini-program."""

    appid: str
    secret: str


def oa_app(settings: Settings) -> WeChatApp:
    """The Official Account (信用重庆)."""
    return WeChatApp(settings.wechat_app_id, settings.wechat_secret)


def mp_app(settings: Settings) -> WeChatApp:
    """The mini-program: subscribe messages go out under its app id and token."""
    return WeChatApp(settings.mp_app_id, settings.mp_secret)


@asynccontextmanager
async def wechat_http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session for WeChat calls, with an overall timeout per request."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)) as s:
        yield s


class AccessTokens:
    """The app's access token, shared by every process through Redis."""

    def __init__(
        self,
        redis: Redis,
        session: aiohttp.ClientSession,
        api_base: str,
        app: WeChatApp,
        *,
        refresh_before_s: float = 300.0,
        # Outlives one fetch (its HTTP timeout): a lock that lapsed mid-fetch would let a second
        # caller fetch, and the second token would kill the first.
        lock_ttl_s: float = HTTP_TIMEOUT_S + 5,
        wait_s: float = HTTP_TIMEOUT_S + 10,
    ) -> None:
        self.redis = redis
        self.session = session
        self.api_base = api_base.rstrip("/")
        self.app = app
        self.refresh_before_s = refresh_before_s
        self.lock_ttl_s = lock_ttl_s
        self.wait_s = wait_s
        self.key = f"wx:token:{app.appid}"
        self.lock_key = f"{self.key}:lock"

    async def get(self) -> str:
        """A valid token: the cached one, or a new one fetched by exactly one caller."""
        token, expires_at = await self._cached()
        if token and expires_at - time.time() > self.refresh_before_s:
            return token
        deadline = time.monotonic() + self.wait_s
        while True:
            mine = secrets.token_hex(8)
            if await self.redis.set(self.lock_key, mine, nx=True, px=int(self.lock_ttl_s * 1000)):
                try:
                    token, expires_at = await self._cached()  # refreshed while we waited?
                    if token and expires_at - time.time() > self.refresh_before_s:
                        return token
                    return await self._fetch()
                finally:
                    await _RELEASE_LOCK([self.lock_key], [mine], client=self.redis)
            # Someone else is fetching. A token that still works may be used meanwhile.
            if token and expires_at > time.time() + 1:
                return token
            await asyncio.sleep(0.05)
            token, expires_at = await self._cached()
            if token and expires_at - time.time() > self.refresh_before_s:
                return token
            if time.monotonic() > deadline:
                raise WeChatUnavailable("timed out waiting for another process's token fetch")

    async def invalidate(self, token: str) -> None:
        """WeChat refused `token`: forget it, unless a newer one has replaced it already."""
        await _DROP_IF_SAME([self.key], [token], client=self.redis)

    async def _cached(self) -> tuple[str, float]:
        raw = await self.redis.hmget(self.key, ["token", "expires_at"])
        if not raw[0]:
            return "", 0.0
        return text(raw[0]), float(text(raw[1]) or 0)

    async def _fetch(self) -> str:
        params = {
            "grant_type": "client_credential",
            "appid": self.app.appid,
            "secret": self.app.secret,
        }
        body = await _request_json(self.session, "GET", f"{self.api_base}/cgi-bin/token", params)
        if body.get("errcode") == SYSTEM_BUSY:
            raise _Transient("token: errcode -1")
        if body.get("errcode"):
            raise WeChatApiError(int(body["errcode"]), str(body.get("errmsg", "")), "token")
        token, ttl = str(body["access_token"]), int(body.get("expires_in", 7200))
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key, mapping={"token": token, "expires_at": time.time() + ttl})
        pipe.expire(self.key, ttl)
        await pipe.execute()
        log.info("fetched a new access token for %s (valid %ss)", self.app.appid, ttl)
        return token


class _Transient(Exception):
    """A failure worth another try: HTTP 5xx, a broken connection, a timeout, errcode -1."""


async def _request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    params: Mapping[str, str],
    json_body: Any = None,
    form: aiohttp.FormData | None = None,
) -> dict[str, Any]:
    body, _ = await _request(session, method, url, params, json_body, form, binary=False)
    assert isinstance(body, dict)
    return body


async def _request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    params: Mapping[str, str],
    json_body: Any,
    form: aiohttp.FormData | None,
    *,
    binary: bool,
) -> tuple[dict[str, Any] | bytes, str]:
    """One HTTP exchange: the JSON body, or the raw bytes of a binary (media) answer."""
    kwargs: dict[str, Any] = {"params": dict(params)}
    if form is not None:
        kwargs["data"] = form
    elif json_body is not None:
        # WeChat wants UTF-8 text, not ASCII escapes (they count against its content limits).
        kwargs["data"] = json.dumps(json_body, ensure_ascii=False).encode()
        kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
    try:
        async with session.request(method, url, **kwargs) as resp:
            if resp.status >= 500:
                raise _Transient(f"HTTP {resp.status}")
            if binary and resp.content_type != "application/json" and resp.status == 200:
                return await resp.read(), resp.content_type
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(body, dict):
        raise _Transient("answer is not a JSON object")
    return body, "application/json"


class WeChatClient:
    """Calls one app's API with its shared token; retries what is worth retrying."""

    def __init__(
        self,
        redis: Redis,
        session: aiohttp.ClientSession,
        api_base: str,
        app: WeChatApp,
        *,
        attempts: int = 4,
        backoff_s: float = 0.2,
        tokens: AccessTokens | None = None,
    ) -> None:
        self.session = session
        self.api_base = api_base.rstrip("/")
        self.app = app
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.tokens = tokens or AccessTokens(redis, session, api_base, app)

    @classmethod
    def for_oa(
        cls, settings: Settings, redis: Redis, session: aiohttp.ClientSession
    ) -> WeChatClient:
        return cls(redis, session, settings.wechat_api_base, oa_app(settings))

    @classmethod
    def for_mp(
        cls, settings: Settings, redis: Redis, session: aiohttp.ClientSession
    ) -> WeChatClient:
        return cls(redis, session, settings.wechat_api_base, mp_app(settings))

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        binary: bool = False,
    ) -> dict[str, Any] | bytes:
        """Call `path` with the access token; raise WeChatApiError or WeChatUnavailable."""
        refreshed = False
        failure = "no attempt"
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            try:
                token = await self.tokens.get()
                query = {**(params or {}), "access_token": token}
                body, _ = await _request(
                    self.session,
                    method,
                    f"{self.api_base}{path}",
                    query,
                    json_body,
                    form() if form else None,  # a form body is consumed by each send
                    binary=binary,
                )
            except _Transient as exc:
                failure = str(exc)
                await self._pause(attempt)
                continue
            if isinstance(body, bytes):
                return body
            errcode = int(body.get("errcode") or 0)
            if errcode == 0:
                return body
            errmsg = str(body.get("errmsg", ""))
            if errcode in TOKEN_ERRORS and not refreshed:
                # Another fetch (ours elsewhere, or the back office) replaced the token.
                await self.tokens.invalidate(token)
                refreshed = True
                attempt -= 1  # not WeChat's fault: this try does not count
                continue
            if errcode == SYSTEM_BUSY:
                failure = f"errcode -1: {errmsg}"
                await self._pause(attempt)
                continue
            raise WeChatApiError(errcode, errmsg, path)
        raise WeChatUnavailable(f"{path}: {failure} after {self.attempts} tries")

    async def _pause(self, attempt: int) -> None:
        if attempt < self.attempts:
            step = self.backoff_s * 2 ** (attempt - 1)
            await asyncio.sleep(step / 2 + random.random() * step / 2)

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a JSON body to `path` (see call)."""
        answer = await self.call("POST", path, json_body=body)
        assert isinstance(answer, dict)
        return answer

    # --- media ---

    async def upload_image(self, data: bytes, filename: str = "card.png") -> str:
        """Upload a temporary image (kept 3 days by WeChat); returns its media_id."""
        if len(data) > MEDIA_MAX_BYTES:
            raise MediaTooLarge(f"image of {len(data)} bytes exceeds 2 MB")

        def form() -> aiohttp.FormData:
            fd = aiohttp.FormData()
            fd.add_field("media", data, filename=filename, content_type="image/png")
            return fd

        answer = await self.call("POST", "/cgi-bin/media/upload", params={"type": "image"},
                                 form=form)  # fmt: skip
        assert isinstance(answer, dict)
        return str(answer["media_id"])

    async def download_media(self, media_id: str) -> bytes:
        """A temporary media file (a photo the user sent, for an objection's attachments)."""
        answer = await self.call(
            "GET", "/cgi-bin/media/get", params={"media_id": media_id}, binary=True
        )
        if not isinstance(answer, bytes):
            raise WeChatUnavailable("media/get answered JSON without an errcode")
        return answer

    # --- messages ---

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (within the 48-hour window)."""
        await self.post(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": content}},
        )

    async def send_image(self, openid: str, media_id: str) -> None:
        """A customer-service image message, of an uploaded temporary image."""
        await self.post(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}},
        )

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> None:
        """An OA template message; with client_msg_id WeChat sends it once per id (10 min)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": dict(data)}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id[:CLIENT_MSG_ID_MAX]
        try:
            await self.post("/cgi-bin/message/template/send", body)
        except WeChatApiError as exc:
            if exc.errcode != CLIENT_MSG_ID_USED:
                raise
            log.info("template message %s went out before", client_msg_id)

    async def send_subscribe(
        self, openid: str, template_id: str, data: Mapping[str, Any], page: str = ""
    ) -> None:
        """A mini-program subscribe message (uses up one of the user's grants)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": dict(data)}
        if page:
            body["page"] = page
        await self.post("/cgi-bin/message/subscribe/send", body)
