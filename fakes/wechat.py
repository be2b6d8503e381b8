"""A protocol-faithful local fake of the WeChat HTTP API (api.weixin.qq.com).

The app reaches WeChat only through a configurable base URL, so development and tests point it
here. Paths, parameters, error codes and error texts follow WeChat's documentation and observed
answers: every answer is HTTP 200 with JSON (media downloads aside), and every error carries
``errcode`` and an ``errmsg`` that ends in `` rid: …`` as the real service's do, so compare
errcodes, or errmsg with ``startswith``.

Tests drive the fake's state directly::

    clock = FakeClock()
    fake = FakeWeChat(apps={"wx_oa": "secret"}, templates={"tmpl": ["thing1"]}, clock=clock)
    fake.add_follower("wx_oa", "o_alice")
    client = await aiohttp_client(create_fake_wechat_app(fake))

For development, ``python -m fakes.wechat --port 8081`` serves one; the running fake is driven
through the small control API under ``/_fake/`` (see ``_CONTROL_ACTIONS``).
"""

from __future__ import annotations

import argparse
import base64
import html
import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

TOKEN_TTL = 7200
JS_CODE_TTL = 5 * 60
MEDIA_TTL = 3 * 24 * 3600
CS_WINDOW = 48 * 3600
LOGIN_RATE_WINDOW = 60
# A template message's client_msg_id sends once per user within this time (WeChat: 10 minutes).
CLIENT_MSG_ID_TTL = 10 * 60
CLIENT_MSG_ID_MAX = 64
# WeChat's documented limit for the text of a text message, counted in UTF-8 bytes.
TEXT_MAX_BYTES = 2048
# Above the largest media WeChat accepts, so oversized uploads get WeChat's errcode, not a 413.
MAX_REQUEST_BYTES = 32 * 1024 * 1024

OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}

# errmsg texts as the real API words them (before its " rid: …" suffix).
ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40012: "invalid thumb size",
    40013: "invalid appid",
    40029: "invalid code",
    40036: "invalid template_id size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    41006: "media_id missing",
    41008: "missing code",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44001: "empty media data",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    47001: "data format error",
    47003: "argument invalid!",
}
# The web authorisation page (open.weixin.qq.com/connect/oauth2/authorize) shows these instead of
# redirecting, each with its number, as WeChat's in-app browser does.
OAUTH_PAGE_ERRORS: dict[int, str] = {
    10003: "redirect_uri域名与后台配置不一致",
    10005: "此公众号并没有这些scope的权限",
    10010: "scope不能为空",
    10011: "redirect_uri不能为空",
    10012: "appid不能为空",
    10016: "不支持微信开放平台的Appid，请使用公众号Appid",
}
OAUTH_SCOPES = ("snsapi_base", "snsapi_userinfo")
# The fake's stand-in for "who is holding the phone": a cookie on the fake's own host.
FAKE_USER_COOKIE = "fake_wechat_openid"


class WeChatError(Exception):
    """An error answer: raised by the validators, turned into JSON by `FakeWeChat.handle`."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg if errmsg is not None else ERRMSG.get(errcode, "system error")
        super().__init__(errcode, self.errmsg)


class FakeClock:
    """A settable clock for `FakeWeChat(clock=...)`: call it for the time, advance it by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


# --- media formats --------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaRule:
    max_bytes: int
    size_errcode: int
    formats: frozenset[str]


# Temporary-media limits of POST /cgi-bin/media/upload, per `type`.
MEDIA_RULES: dict[str, MediaRule] = {
    "image": MediaRule(2 * 1024 * 1024, 40009, frozenset({"jpeg", "png", "gif", "bmp"})),
    "voice": MediaRule(2 * 1024 * 1024, 40010, frozenset({"amr", "mp3"})),
    "video": MediaRule(10 * 1024 * 1024, 40011, frozenset({"mp4"})),
    "thumb": MediaRule(64 * 1024, 40012, frozenset({"jpeg"})),
}
MIME_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "amr": "audio/amr",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
}
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"#!AMR", "amr"),
    (b"ID3", "mp3"),
)


def sniff_format(data: bytes) -> str | None:
    """The file format by magic bytes: WeChat ignores the file name and declared content type."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        return "mp4"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "mp3"  # a bare MPEG audio frame, without an ID3 header
    return None


def _check_upload(data: bytes, rule: MediaRule) -> str:
    if not data:
        raise WeChatError(44001)
    if len(data) > rule.max_bytes:
        raise WeChatError(rule.size_errcode)
    fmt = sniff_format(data)
    if fmt not in rule.formats:
        raise WeChatError(40005)
    return fmt


# --- message content ------------------------------------------------------------------------

CUSTOM_MSGTYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "mpnewsarticle",
        "msgmenu",
        "wxcard",
        "miniprogrampage",
    }
)
MEDIA_MSGTYPES = frozenset({"image", "voice", "video"})
MINIPROGRAM_STATES = ("developer", "trial", "formal")
# Longest value a subscribe-message keyword takes, by its type (the keyword without its digits).
SUBSCRIBE_VALUE_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 10,
    "phrase": 5,
    "short_thing": 5,
}
# Keyword types whose values must be ASCII: Chinese text in them is a classic 47003.
ASCII_KINDS = frozenset({"number", "letter", "character_string", "phone_number"})


def _text(value: object) -> str:
    """A JSON value that must be a string, or "" (what WeChat treats as missing)."""
    return value if isinstance(value, str) else ""


def _check_text(content: str) -> None:
    if not content:
        raise WeChatError(44004)
    if len(content.encode()) > TEXT_MAX_BYTES:
        raise WeChatError(45002)


def _check_news(articles: object) -> None:
    if not isinstance(articles, list) or not articles:
        raise WeChatError(44003)
    if len(articles) > 1:  # news messages carry one article since 2018
        raise WeChatError(45008)


def _subscribe_value_fits(key: str, value: str) -> bool:
    kind = key.rstrip("0123456789")
    limit = SUBSCRIBE_VALUE_LIMITS.get(kind)
    if kind == "name" and value.isascii():
        limit = 20  # names in Latin letters may be twice as long
    if limit is not None and len(value) > limit:
        return False
    return value.isascii() or kind not in ASCII_KINDS


def _check_subscribe_data(data: object, keywords: Iterable[str]) -> None:
    if not isinstance(data, dict):
        raise WeChatError(47003, "argument invalid! data invalid")
    for key in dict.fromkeys([*keywords, *data]):
        entry = data.get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if value is None or value == "":
            raise WeChatError(47003, f"argument invalid! data.{key}.value is empty")
        if not isinstance(value, str) or not _subscribe_value_fits(key, value):
            raise WeChatError(47003, f"argument invalid! data.{key}.value invalid")


# --- records --------------------------------------------------------------------------------


@dataclass
class Token:
    value: str
    appid: str
    kind: str  # "basic" (/cgi-bin/token) or "stable" (/cgi-bin/stable_token): kept apart
    expires_at: float
    superseded_at: float | None = None


@dataclass
class JsCode:
    openid: str
    unionid: str | None
    appid: str | None  # None: any app may redeem it
    issued_at: float
    used: bool = False


@dataclass
class OAuthCode:
    """A web authorisation code: redeemable once, within 5 minutes, by the app it was made for."""

    openid: str
    appid: str
    scope: str
    issued_at: float
    used: bool = False


@dataclass
class Media:
    media_id: str
    appid: str
    type: str
    data: bytes
    format: str
    created_at: int


@dataclass
class CallRecord:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # the JSON body, a summary of form fields, or None
    response: dict[str, Any]  # the JSON answer, or a summary of a binary one
    at: float

    @property
    def errcode(self) -> int:
        return int(self.response.get("errcode", 0))


@dataclass
class SentMessage:
    kind: str  # "custom", "subscribe" or "template"
    appid: str
    touser: str
    payload: dict[str, Any]
    at: float
    msgid: int | None = None


@dataclass
class _Conversation:
    """An OA follower as the customer-service API sees them."""

    last_interaction: float
    following: bool = True
    sent_since: int = 0  # customer-service messages since the user's last interaction


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Blob:
    """A binary answer (a media download), or a bare HTTP error (status other than 200)."""

    data: bytes
    content_type: str
    filename: str
    status: int = 200


class HttpFailure(Exception):
    """A forced bare HTTP error (see `FakeWeChat.fail_next_http`)."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(status)


Reply = dict[str, Any] | Blob


@dataclass
class ApiRequest:
    """One API call, read off the wire before any handler looks at it."""

    method: str
    path: str
    query: dict[str, str]
    raw: bytes = b""
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, with WeChat's errors for an empty or malformed one."""
        if not self.raw.strip():
            raise WeChatError(44002)
        try:
            body = json.loads(self.raw)
        except ValueError:
            raise WeChatError(47001) from None
        if not isinstance(body, dict):
            raise WeChatError(47001)
        return body

    def summary(self) -> Any:
        """What a call record keeps of the body: the JSON as sent, or the form fields."""
        if self.fields or self.files:
            files = {
                name: {"filename": f.filename, "content_type": f.content_type, "size": len(f.data)}
                for name, f in self.files.items()
            }
            return {**self.fields, **files}
        if not self.raw:
            return None
        try:
            return json.loads(self.raw)
        except ValueError:
            return self.raw.decode("utf-8", "replace")


Handler = Callable[[ApiRequest], Reply]


def _reply_summary(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, Blob) and reply.status != 200:
        return {"http_status": reply.status}
    if isinstance(reply, Blob):
        return {"content_type": reply.content_type, "size": len(reply.data)}
    return dict(reply)


def _template_table(
    templates: Mapping[str, Iterable[str]] | Iterable[str],
) -> dict[str, tuple[str, ...]]:
    if isinstance(templates, Mapping):
        return {template_id: tuple(keys) for template_id, keys in templates.items()}
    return dict.fromkeys(templates, ())


def _random_id(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]


# --- the fake -------------------------------------------------------------------------------


class FakeWeChat:
    """The state behind the fake API, and the helpers tests use to set it up and inspect it."""

    def __init__(
        self,
        apps: Mapping[str, str],
        *,
        templates: Mapping[str, Iterable[str]] | Iterable[str] = (),
        clock: Callable[[], float] | None = None,
        cs_quota: int = 5,
        jscode_rate_limit: int = 100,
        token_overlap: float = 0.0,
        rid: bool = True,
    ) -> None:
        """
        apps: appid -> secret of every known OA or mini-program.
        templates: template_id -> keyword names its data needs (e.g. ["thing1", "time2"]), or
            just template ids; shared by subscribe and OA template messages.
        clock: seconds since the epoch; `FakeClock` or any callable (also settable as `now`).
        cs_quota: customer-service messages allowed per user between two of their messages.
        jscode_rate_limit: jscode2session calls allowed per user and app per minute.
        token_overlap: seconds a replaced access token keeps working (WeChat documents up to
            300; the default 0 makes a token refresh race show up in tests at once).
        rid: append " rid: …" to errmsg as the real API does.
        """
        self.apps = dict(apps)
        self.templates = _template_table(templates)
        self.now: Callable[[], float] = clock or time.time
        self.cs_quota = cs_quota
        self.jscode_rate_limit = jscode_rate_limit
        self.token_overlap = token_overlap
        self.rid = rid
        # Where the fake is served, set by whoever serves it (the test fixture, run.py).
        self.base_url = ""
        self.calls: list[CallRecord] = []
        self.sent: list[SentMessage] = []
        self.media: dict[str, Media] = {}
        self.users: dict[str, set[str]] = {appid: set() for appid in self.apps}
        self._tokens: dict[str, Token] = {}
        self._current: dict[tuple[str, str], Token] = {}
        self._codes: dict[str, JsCode] = {}
        self._oauth_codes: dict[str, OAuthCode] = {}
        # appid -> the host (netloc) its web authorisation may redirect to; unset: any host.
        self.oauth_domains: dict[str, str] = {}
        self.unionids: dict[str, str] = {}  # openid -> unionid, returned where WeChat would
        self._logins: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._conversations: dict[tuple[str, str], _Conversation] = {}
        self._grants: dict[tuple[str, str], int] = defaultdict(int)
        self._failures: dict[str, deque[WeChatError | int]] = defaultdict(deque)
        self._client_msg_ids: dict[tuple[str, str, str], float] = {}
        self._msgids = itertools.count(2_000_000_001)

    # --- helpers for tests ---

    def issue_token(self, appid: str) -> str:
        """A new access token for appid, as GET /cgi-bin/token issues it (the old one stops)."""
        self._require_app(appid)
        return self._issue_token(appid, "basic").value

    def issue_js_code(
        self, openid: str, unionid: str | None = None, *, appid: str | None = None
    ) -> str:
        """A wx.login() code for openid: redeemable once, within 5 minutes, by appid or any app."""
        if appid is not None:
            self._require_app(appid)
        code = _random_id(32)
        self._codes[code] = JsCode(openid, unionid, appid, issued_at=self.now())
        return code

    def add_user(self, appid: str, openid: str) -> None:
        """Make openid a user of appid, as a mini-program login does."""
        self._require_app(appid)
        self.users[appid].add(openid)

    def add_follower(self, appid: str, openid: str, *, at: float | None = None) -> None:
        """openid follows the OA appid; following opens the 48-hour customer-service window."""
        self.add_user(appid, openid)
        self._conversations[(appid, openid)] = _Conversation(last_interaction=self._at(at))

    def remove_follower(self, appid: str, openid: str) -> None:
        """openid unfollows appid: custom messages then get 45015, template messages 43004."""
        self._conversations[(appid, openid)].following = False

    def touch(self, openid: str, *, at: float | None = None, appid: str | None = None) -> None:
        """openid messaged the OA (appid, or every OA it follows): window and quota restart."""
        keys = [k for k in self._conversations if k[1] == openid and appid in (None, k[0])]
        if not keys:
            raise KeyError(f"{openid!r} follows no such app: call add_follower first")
        for key in keys:
            conversation = self._conversations[key]
            conversation.last_interaction = self._at(at)
            conversation.sent_since = 0

    def grant_subscription(self, openid: str, template_id: str, times: int = 1) -> None:
        """openid accepted template_id in wx.requestSubscribeMessage; each send uses one grant."""
        if template_id not in self.templates:
            raise KeyError(f"unknown template {template_id!r}: pass it in templates=")
        self._grants[(openid, template_id)] += times

    def subscriptions_left(self, openid: str, template_id: str) -> int:
        return self._grants.get((openid, template_id), 0)

    def fail_next(
        self, path: str, errcode: int = -1, errmsg: str | None = None, *, times: int = 1
    ) -> None:
        """The next `times` calls to path answer this error, before any check and with no effect."""
        for _ in range(times):
            self._failures[path].append(WeChatError(errcode, errmsg))

    def fail_next_http(self, path: str, status: int = 503, *, times: int = 1) -> None:
        """The next `times` calls to path get a bare HTTP error, as WeChat's gateways give."""
        for _ in range(times):
            self._failures[path].append(status)

    def add_user_media(self, appid: str, data: bytes) -> str:
        """A photo a user sent to the OA: WeChat pushes its media_id, media/get serves it."""
        self._require_app(appid)
        fmt = sniff_format(data) or "jpeg"
        media = Media(_random_id(64), appid, "image", data, fmt, created_at=int(self.now()))
        self.media[media.media_id] = media
        return media.media_id

    def calls_to(self, path: str) -> list[CallRecord]:
        return [call for call in self.calls if call.path == path]

    def sent_to(self, openid: str, kind: str | None = None) -> list[SentMessage]:
        return [m for m in self.sent if m.touser == openid and kind in (None, m.kind)]

    # --- serving ---

    def endpoints(self) -> list[tuple[str, str, Handler]]:
        """(HTTP method, path, handler) of every WeChat API the fake answers."""
        return [
            ("GET", "/cgi-bin/token", self._token),
            ("POST", "/cgi-bin/stable_token", self._stable_token),
            ("GET", "/sns/jscode2session", self._jscode2session),
            ("GET", "/sns/oauth2/access_token", self._oauth_access_token),
            ("POST", "/cgi-bin/media/upload", self._media_upload),
            ("GET", "/cgi-bin/media/get", self._media_get),
            ("POST", "/cgi-bin/message/custom/send", self._custom_send),
            ("POST", "/cgi-bin/message/subscribe/send", self._subscribe_send),
            ("POST", "/cgi-bin/message/template/send", self._template_send),
        ]

    def handle(self, request: ApiRequest, method: str, handler: Handler) -> Reply:
        """Answer one API call, errors included, and record it."""
        try:
            reply = self._answer(request, method, handler)
        except WeChatError as err:
            reply = self._error(err)
        except HttpFailure as failure:
            reply = Blob(b"", "text/html", "", status=failure.status)
        record = CallRecord(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=request.summary(),
            response=_reply_summary(reply),
            at=self.now(),
        )
        self.calls.append(record)
        return reply

    def _answer(self, request: ApiRequest, method: str, handler: Handler) -> Reply:
        if request.method != method:
            raise WeChatError(43001 if method == "GET" else 43002)
        forced = self._failures.get(request.path)
        if forced:
            failure = forced.popleft()
            if isinstance(failure, int):
                raise HttpFailure(failure)
            raise failure
        return handler(request)

    def _error(self, err: WeChatError) -> dict[str, Any]:
        errmsg = err.errmsg
        if self.rid:
            errmsg += f" rid: {int(self.now()):08x}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        return {"errcode": err.errcode, "errmsg": errmsg}

    # --- access tokens ---

    def _token(self, request: ApiRequest) -> Reply:
        appid = self._check_credentials(request.query, "client_credential")
        token = self._issue_token(appid, "basic")
        return {"access_token": token.value, "expires_in": TOKEN_TTL}

    def _stable_token(self, request: ApiRequest) -> Reply:
        body = request.json()
        appid = self._check_credentials(body, "client_credential")
        token = self._current.get((appid, "stable"))
        if body.get("force_refresh") is True or token is None or self._expired(token):
            token = self._issue_token(appid, "stable")
        return {"access_token": token.value, "expires_in": int(token.expires_at - self.now())}

    def _check_credentials(self, params: Mapping[str, Any], grant_type: str) -> str:
        if params.get("grant_type") != grant_type:
            raise WeChatError(40002)
        appid = _text(params.get("appid"))
        if not appid:
            raise WeChatError(41002)
        if appid not in self.apps:
            raise WeChatError(40013)
        secret = _text(params.get("secret"))
        if not secret:
            raise WeChatError(41004)
        if secret != self.apps[appid]:
            raise WeChatError(40125)
        return appid

    def _issue_token(self, appid: str, kind: str) -> Token:
        now = self.now()
        previous = self._current.get((appid, kind))
        if previous is not None:
            previous.superseded_at = now
        token = Token(_random_id(128), appid, kind, expires_at=now + TOKEN_TTL)
        self._tokens[token.value] = token
        self._current[(appid, kind)] = token
        return token

    def _token_app(self, query: Mapping[str, str]) -> str:
        """The appid whose valid access token the call carries."""
        value = query.get("access_token")
        if not value:
            raise WeChatError(41001)
        token = self._tokens.get(value)
        if token is None or self._superseded(token):
            raise WeChatError(40001)
        if self._expired(token):
            raise WeChatError(42001)
        return token.appid

    def _superseded(self, token: Token) -> bool:
        replaced = token.superseded_at
        return replaced is not None and self.now() >= replaced + self.token_overlap

    def _expired(self, token: Token) -> bool:
        return self.now() >= token.expires_at

    # --- mini-program login ---

    def _jscode2session(self, request: ApiRequest) -> Reply:
        appid = self._check_credentials(request.query, "authorization_code")
        code = self._redeemable_code(request.query.get("js_code", ""), appid)
        self._count_login(appid, code.openid)
        code.used = True
        self.users[appid].add(code.openid)
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        reply: dict[str, Any] = {"session_key": session_key, "openid": code.openid}
        if code.unionid:
            reply["unionid"] = code.unionid
        return reply

    def _redeemable_code(self, value: str, appid: str) -> JsCode:
        if not value:
            raise WeChatError(41008)
        code = self._codes.get(value)
        if (
            code is None
            or code.appid not in (None, appid)
            or self._age(code.issued_at) > JS_CODE_TTL
        ):
            raise WeChatError(40029)
        if code.used:
            raise WeChatError(40163)
        return code

    def _count_login(self, appid: str, openid: str) -> None:
        """Allow jscode_rate_limit logins per user and app a minute; a refused code stays usable."""
        recent = self._logins[(appid, openid)]
        now = self.now()
        while recent and now - recent[0] >= LOGIN_RATE_WINDOW:
            recent.popleft()
        if len(recent) >= self.jscode_rate_limit:
            raise WeChatError(45011)
        recent.append(now)

    # --- Official Account web authorisation (网页授权) ---

    def authorize(self, query: Mapping[str, str], openid: str) -> str:
        """Where WeChat's authorise page sends the browser of `openid` (silently for
        snsapi_base): redirect_uri with code and state. Raises WeChatError with the page's
        10xxx number when the request is wrong."""
        appid, scope = query.get("appid", ""), query.get("scope", "")
        redirect_uri = query.get("redirect_uri", "")
        if not appid:
            raise WeChatError(10012, OAUTH_PAGE_ERRORS[10012])
        if appid not in self.apps:
            raise WeChatError(10016, OAUTH_PAGE_ERRORS[10016])
        if not redirect_uri:
            raise WeChatError(10011, OAUTH_PAGE_ERRORS[10011])
        allowed = self.oauth_domains.get(appid)
        if allowed is not None and urlsplit(redirect_uri).netloc != allowed:
            raise WeChatError(10003, OAUTH_PAGE_ERRORS[10003])
        if not scope:
            raise WeChatError(10010, OAUTH_PAGE_ERRORS[10010])
        if scope not in OAUTH_SCOPES or query.get("response_type") != "code":
            raise WeChatError(10005, OAUTH_PAGE_ERRORS[10005])
        code = _random_id(32)
        self._oauth_codes[code] = OAuthCode(openid, appid, scope, issued_at=self.now())
        self.users[appid].add(openid)
        separator = "&" if "?" in redirect_uri else "?"
        target = urlencode({"code": code, "state": query.get("state", "")})
        return f"{redirect_uri}{separator}{target}"

    def _oauth_access_token(self, request: ApiRequest) -> Reply:
        appid = self._check_credentials(request.query, "authorization_code")
        value = request.query.get("code", "")
        if not value:
            raise WeChatError(41008)
        code = self._oauth_codes.get(value)
        if code is None or code.appid != appid or self._age(code.issued_at) > JS_CODE_TTL:
            raise WeChatError(40029)
        if code.used:
            raise WeChatError(40163)
        code.used = True
        reply: dict[str, Any] = {
            "access_token": _random_id(86),
            "expires_in": TOKEN_TTL,
            "refresh_token": _random_id(86),
            "openid": code.openid,
            "scope": code.scope,
        }
        if code.openid in self.unionids:
            reply["unionid"] = self.unionids[code.openid]
        return reply

    # --- temporary media ---

    def _media_upload(self, request: ApiRequest) -> Reply:
        appid = self._token_app(request.query)
        kind = request.query.get("type", "")
        rule = MEDIA_RULES.get(kind)
        if rule is None:
            raise WeChatError(40004)
        upload = request.files.get("media")
        if upload is None:
            raise WeChatError(41005)
        fmt = _check_upload(upload.data, rule)
        media = Media(_random_id(64), appid, kind, upload.data, fmt, created_at=int(self.now()))
        self.media[media.media_id] = media
        # WeChat names the id differently for thumbnails.
        id_key = "thumb_media_id" if kind == "thumb" else "media_id"
        return {"type": kind, id_key: media.media_id, "created_at": media.created_at}

    def _media_get(self, request: ApiRequest) -> Reply:
        appid = self._token_app(request.query)
        media = self._live_media(appid, request.query.get("media_id", ""))
        return Blob(media.data, MIME_TYPES[media.format], f"{media.media_id}.{media.format}")

    def _live_media(self, appid: str, media_id: str, kind: str | None = None) -> Media:
        """appid's unexpired media (of that kind): media belong to the app that uploaded them."""
        if not media_id:
            raise WeChatError(41006)
        media = self.media.get(media_id)
        if (
            media is None
            or media.appid != appid
            or self._age(media.created_at) >= MEDIA_TTL
            or kind not in (None, media.type)
        ):
            raise WeChatError(40007)
        return media

    # --- messages ---

    def _custom_send(self, request: ApiRequest) -> Reply:
        appid = self._token_app(request.query)
        body = request.json()
        openid = self._known_user(appid, body.get("touser"))
        self._check_custom_content(appid, body)
        conversation = self._open_conversation(appid, openid)
        conversation.sent_since += 1
        self._record_sent("custom", appid, openid, body)
        return dict(OK)

    def _check_custom_content(self, appid: str, body: dict[str, Any]) -> None:
        msgtype = _text(body.get("msgtype"))
        if msgtype not in CUSTOM_MSGTYPES:
            raise WeChatError(40008)
        section = body.get(msgtype)
        if not isinstance(section, dict):
            raise WeChatError(47001)
        if msgtype == "text":
            _check_text(_text(section.get("content")))
        elif msgtype == "news":
            _check_news(section.get("articles"))
        elif msgtype in MEDIA_MSGTYPES:
            self._live_media(appid, _text(section.get("media_id")), msgtype)

    def _open_conversation(self, appid: str, openid: str) -> _Conversation:
        """The follower's conversation, if its 48-hour window is open and its quota not used up."""
        conversation = self._conversations.get((appid, openid))
        if (
            conversation is None
            or not conversation.following
            or self._age(conversation.last_interaction) > CS_WINDOW
        ):
            raise WeChatError(45015)
        if conversation.sent_since >= self.cs_quota:
            raise WeChatError(45047)
        return conversation

    def _subscribe_send(self, request: ApiRequest) -> Reply:
        appid = self._token_app(request.query)
        body = request.json()
        openid = self._known_user(appid, body.get("touser"))
        template_id = _text(body.get("template_id"))
        if template_id not in self.templates:
            raise WeChatError(40037)
        if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
            raise WeChatError(47003, "argument invalid! miniprogram_state invalid")
        _check_subscribe_data(body.get("data"), self.templates[template_id])
        self._use_grant(openid, template_id)
        self._record_sent("subscribe", appid, openid, body)
        return dict(OK)

    def _use_grant(self, openid: str, template_id: str) -> None:
        key = (openid, template_id)
        if self._grants.get(key, 0) < 1:
            raise WeChatError(43101)
        self._grants[key] -= 1

    def _template_send(self, request: ApiRequest) -> Reply:
        appid = self._token_app(request.query)
        body = request.json()
        openid = self._known_user(appid, body.get("touser"))
        template_id = _text(body.get("template_id"))
        if not template_id:
            raise WeChatError(40036)
        if template_id not in self.templates:
            raise WeChatError(40037)
        conversation = self._conversations.get((appid, openid))
        if conversation is None or not conversation.following:
            raise WeChatError(43004)
        if not isinstance(body.get("data"), dict):
            raise WeChatError(47001)
        self._check_client_msg_id(appid, openid, body.get("client_msg_id"))
        msgid = next(self._msgids)
        self._record_sent("template", appid, openid, body, msgid)
        return {**OK, "msgid": msgid}

    def _check_client_msg_id(self, appid: str, openid: str, value: object) -> None:
        """WeChat sends one message per user and client_msg_id within 10 minutes."""
        client_msg_id = _text(value)
        if not client_msg_id:
            return
        if len(client_msg_id.encode()) > CLIENT_MSG_ID_MAX:
            raise WeChatError(45067)
        key = (appid, openid, client_msg_id)
        used = self._client_msg_ids.get(key)
        if used is not None and self._age(used) < CLIENT_MSG_ID_TTL:
            raise WeChatError(45065)
        self._client_msg_ids[key] = self.now()

    def _known_user(self, appid: str, touser: object) -> str:
        """touser if it is a user of appid: openids are per app, as in WeChat."""
        openid = _text(touser)
        if openid not in self.users[appid]:
            raise WeChatError(40003)
        return openid

    def _record_sent(
        self, kind: str, appid: str, openid: str, body: dict[str, Any], msgid: int | None = None
    ) -> None:
        self.sent.append(SentMessage(kind, appid, openid, body, self.now(), msgid))

    # --- small helpers ---

    def _require_app(self, appid: str) -> None:
        if appid not in self.apps:
            raise KeyError(f"unknown appid {appid!r}: pass it in apps=")

    def _at(self, at: float | None) -> float:
        return self.now() if at is None else at

    def _age(self, since: float) -> float:
        return self.now() - since


FAKE_KEY = web.AppKey("fake_wechat", FakeWeChat)


# --- the aiohttp application ----------------------------------------------------------------


def create_fake_wechat_app(fake: FakeWeChat) -> web.Application:
    """An aiohttp app serving `fake`'s WeChat API, plus the control API under /_fake/."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[FAKE_KEY] = fake
    for method, path, handler in fake.endpoints():
        # Every method reaches the handler, so a wrong one gets WeChat's 43001/43002.
        app.router.add_route("*", path, _serve(fake, method, handler))
    app.router.add_route("GET", "/connect/oauth2/authorize", _oauth_authorize)
    app.router.add_route("POST", "/connect/oauth2/authorize", _oauth_authorize)
    app.router.add_post("/_fake/{action}", _control)
    app.router.add_get("/_fake/{listing}", _listing)
    return app


def _serve(
    fake: FakeWeChat, method: str, handler: Handler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        reply = fake.handle(await _read_request(request), method, handler)
        return _http_response(reply)

    return serve


async def _read_request(request: web.Request) -> ApiRequest:
    api_request = ApiRequest(request.method, request.path, dict(request.query))
    # Clients often post JSON with no or a wrong content type, as WeChat tolerates.
    if request.content_type != "multipart/form-data":
        api_request.raw = await request.read()
        return api_request
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            api_request.files[name] = Upload(value.filename, value.content_type, value.file.read())
        else:
            api_request.fields[name] = str(value)
    return api_request


def _http_response(reply: Reply) -> web.Response:
    if isinstance(reply, Blob) and reply.status != 200:
        return web.Response(status=reply.status, text="<html>Service Unavailable</html>")
    if isinstance(reply, Blob):
        disposition = f'attachment; filename="{reply.filename}"'
        return web.Response(
            body=reply.data,
            content_type=reply.content_type,
            headers={"Content-Disposition": disposition},
        )
    return web.json_response(reply, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


_OAUTH_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>微信授权</title>
<style>body{{font:16px/1.6 sans-serif;margin:0;background:#ededed;color:#191919}}
main{{max-width:420px;margin:40px auto;background:#fff;padding:24px;border-radius:12px}}
label{{display:block;margin:12px 0 4px}}input{{width:100%;box-sizing:border-box;padding:10px;
font-size:16px}}button{{margin-top:16px;width:100%;padding:12px;font-size:16px;border:0;
border-radius:8px;background:#06ae56;color:#fff}}</style></head><body><main>{body}</main>
</body></html>"""


def _oauth_page(body: str, status: int = 200) -> web.Response:
    return web.Response(text=_OAUTH_PAGE.format(body=body), content_type="text/html", status=status)


async def _oauth_authorize(request: web.Request) -> web.StreamResponse:
    """WeChat's authorise page. The real one knows who holds the phone; the fake asks once (a
    development page) and remembers the answer in a cookie of its own host."""
    fake = request.app[FAKE_KEY]
    query = dict(request.query)
    openid = request.cookies.get(FAKE_USER_COOKIE, "")
    if request.method == "POST":
        openid = str((await request.post()).get("openid", "")).strip()[:64]
    if not openid:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        return _oauth_page(
            "<h1>微信（本地模拟）</h1><p>模拟在微信中打开网页：请输入当前微信用户的 openid。</p>"
            f'<form method="post" action="?{html.escape(request.query_string)}">{hidden}'
            '<label for="openid">openid</label><input id="openid" name="openid" required '
            'value="o_web_demo"><button type="submit">以该微信用户继续</button></form>'
        )
    try:
        target = fake.authorize(query, openid)
    except WeChatError as err:
        return _oauth_page(f"<h1>{err.errcode}</h1><p>{html.escape(err.errmsg)}</p>", status=200)
    response = web.HTTPFound(target)
    response.set_cookie(FAKE_USER_COOKIE, openid, httponly=True, samesite="Lax")
    raise response


# --- control API for development: POST /_fake/<action> with a JSON body, GET /_fake/sent|calls


def _control_js_code(fake: FakeWeChat, body: dict[str, Any]) -> object:
    code = fake.issue_js_code(body["openid"], body.get("unionid"), appid=body.get("appid"))
    return {"code": code}


def _control_follower(fake: FakeWeChat, body: dict[str, Any]) -> object:
    fake.add_follower(body["appid"], body["openid"])
    return {}


def _control_touch(fake: FakeWeChat, body: dict[str, Any]) -> object:
    fake.touch(body["openid"], appid=body.get("appid"))
    return {}


def _control_subscription(fake: FakeWeChat, body: dict[str, Any]) -> object:
    fake.grant_subscription(body["openid"], body["template_id"], int(body.get("times", 1)))
    return {}


def _control_user_media(fake: FakeWeChat, body: dict[str, Any]) -> object:
    data = base64.b64decode(body["data"])
    return {"media_id": fake.add_user_media(body["appid"], data)}


_CONTROL_ACTIONS: dict[str, Callable[[FakeWeChat, dict[str, Any]], object]] = {
    "js_code": _control_js_code,
    "followers": _control_follower,
    "touch": _control_touch,
    "subscriptions": _control_subscription,
    "user_media": _control_user_media,
}


async def _control(request: web.Request) -> web.Response:
    action = _CONTROL_ACTIONS.get(request.match_info["action"])
    if action is None:
        raise web.HTTPNotFound()
    try:
        body = await request.json()
        return web.json_response(action(request.app[FAKE_KEY], body))
    except (KeyError, TypeError, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)


async def _listing(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    listings = {"sent": fake.sent, "calls": fake.calls}
    items = listings.get(request.match_info["listing"])
    if items is None:
        raise web.HTTPNotFound()
    # ?touser=OPENID narrows the sent messages to one user (run.py wechat simulate).
    touser = request.query.get("touser")
    if touser is not None:
        items = [m for m in fake.sent if m.touser == touser]
    return web.json_response([asdict(item) for item in items], dumps=_dumps_cjk)


def _dumps_cjk(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# --- command line ---------------------------------------------------------------------------


def run_fake_wechat(
    host: str = "127.0.0.1", port: int = 8081, fake: FakeWeChat | None = None
) -> None:
    """Serve a fake WeChat on host:port until interrupted."""
    fake = fake or FakeWeChat(_apps_from_settings())
    web.run_app(create_fake_wechat_app(fake), host=host, port=port)


def _apps_from_settings() -> dict[str, str]:
    """The OA and mini-program the app is configured with; an unset secret becomes dev-secret."""
    from config.settings import Settings  # only the command line needs the project's settings

    settings = Settings.from_env()
    return {
        settings.wechat_app_id: settings.wechat_secret or "dev-secret",
        settings.mp_app_id: settings.mp_secret or "dev-secret",
    }


def _parse_pairs(
    parser: argparse.ArgumentParser, option: str, items: Sequence[str], need_value: bool
) -> dict[str, str]:
    """KEY:VALUE command-line items as a dict."""
    pairs: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition(":")
        if not key or (need_value and not value):
            parser.error(f"{option} expects KEY:VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fakes.wechat", description="Serve a local fake of the WeChat API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="APPID:SECRET",
        help="a known app (repeatable); default: the OA and mini-program from the environment",
    )
    parser.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="ID[:KEYWORD,KEYWORD]",
        help="a known template and the data keywords it needs (repeatable)",
    )
    args = parser.parse_args(argv)
    apps = _parse_pairs(parser, "--app", args.app, need_value=True) or _apps_from_settings()
    template_pairs = _parse_pairs(parser, "--template", args.template, need_value=False)
    templates = {tid: [k for k in keys.split(",") if k] for tid, keys in template_pairs.items()}
    print(f"fake WeChat: apps {', '.join(apps)}; templates {', '.join(templates) or 'none'}")
    run_fake_wechat(args.host, args.port, FakeWeChat(apps, templates=templates))


if __name__ == "__main__":
    main()
