"""What /wechat does with a push from WeChat: check it, decrypt it, parse it, queue it once.

The handler must answer within WeChat's 5 s (it retries 3 times otherwise), so nothing here
waits for the bot: the message goes on `wx:inbound` keyed by the user's openid and the answer is
`success`. Rejected pushes (bad signature, stale timestamp, oversized or DTD-carrying bodies)
are never queued; when Redis is unreachable the answer is 503, so that WeChat retries.

Plain mode's `signature` covers the token, timestamp and nonce but not the body, so anyone who
saw one push URL could sign any body with it. Hence: with an EncodingAESKey configured only
encrypted pushes are taken (safe mode, or compatible mode, where the plaintext copy beside the
ciphertext is ignored and only the decrypted message counts); `msg_signature` is checked over
the ciphertext of every one; and each (timestamp, nonce, signature) is taken once: it is
remembered, in the same script that queues the message, for longer than the timestamp window.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto
from wechatpy.messages import BaseMessage
from wechatpy.utils import to_text

from config.settings import Settings
from queues.config import DEFAULT_MAXLEN, KEY_STATE_TTL_S, StreamKeys
from queues.envelope import first_fields
from services.errors import Forbidden, InvalidRequest, ServiceError, Unavailable
from services.masking import mask_identifier
from services.wechat.messages import InboundKind, InboundMessage, message_identity

log = logging.getLogger(__name__)

INBOUND_STREAM = "wx:inbound"
INBOUND_JOB = "wx.inbound"
MAX_BODY_BYTES = 64 * 1024
TIMESTAMP_WINDOW_S = 300
# Longer than WeChat's retries (15 s) and than the timestamp window: a replay inside the window
# is still remembered, one outside it fails the timestamp check.
SEEN_TTL_S = 3600
# A timestamp is good for 300 s either side of our clock: a used nonce is remembered past that.
REPLAY_TTL_S = 2 * TIMESTAMP_WINDOW_S + 60
REPLAYED = -1
# The encrypted message in WeChat's safe-mode envelope (base64 only; declarations were refused).
_ENCRYPTED = re.compile(r"<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt>")
# Any markup declaration but CDATA: <!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST, comments.
# WeChat never sends them; entity expansion (billion laughs) and external entities (XXE) need them.
_DECLARATION = re.compile(r"<!(?!\[CDATA\[)")

# The dedupe mark and the keyed enqueue in one step: a message is either seen and queued, or
# neither (a mark without its job would turn WeChat's retry into a lost message). The enqueue
# half is queues.scripts.ENQUEUE_KEYED's, which cannot be called from another script.
# The push's (timestamp, nonce, signature), when given, is taken once: a second use is a replay.
# KEYS seen, stream, key_state[, replay] | ARGV seen_ttl, maxlen, key_ttl, field, value, ...
_MARK_AND_ENQUEUE = AsyncScript(
    None,  # type: ignore[arg-type]
    b"""
if KEYS[4] and not redis.call('SET', KEYS[4], '1', 'NX', 'EX', '%d') then return %d end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('EXPIRE', KEYS[3], ARGV[3])
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, unpack(ARGV, 4))
"""
    % (REPLAY_TTL_S, REPLAYED),
)


class BadSignature(Forbidden):
    """The push is not signed with our token: not from WeChat."""

    code = "wechat_bad_signature"
    message = "签名校验失败"


class PlainRefused(Forbidden):
    """A plain-mode push while safe mode is configured: its body is signed by nothing."""

    code = "wechat_plain_refused"
    message = "已启用消息加密，不接受明文消息"


class Replayed(Forbidden):
    """A push whose timestamp, nonce and signature were used before: a replay."""

    code = "wechat_replayed"
    message = "重复的请求签名，已拒绝"


class StaleTimestamp(InvalidRequest):
    """The push's timestamp is more than 300 s away from our clock (a replay, or a bad clock)."""

    code = "wechat_stale_timestamp"
    message = "请求时间戳已过期"


class BodyTooLarge(ServiceError):
    """Messages from WeChat are small; a large body is an attack or a mistake."""

    status = 413
    code = "wechat_body_too_large"
    message = "消息体过大"


class BadMessage(InvalidRequest):
    """The body is not a message WeChat would send (malformed XML, a DTD, undecryptable)."""

    code = "wechat_bad_message"
    message = "消息格式有误"


@dataclass(frozen=True)
class Push:
    """The query string WeChat signs a push with."""

    signature: str
    timestamp: str
    nonce: str
    encrypt_type: str = ""
    msg_signature: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Push:
        return cls(
            signature=query.get("signature", ""),
            timestamp=query.get("timestamp", ""),
            nonce=query.get("nonce", ""),
            encrypt_type=query.get("encrypt_type", "").lower(),
            msg_signature=query.get("msg_signature", ""),
        )

    @property
    def encrypted(self) -> bool:
        return self.encrypt_type == "aes"

    @property
    def replay_key(self) -> str:
        """The Redis key that marks this (timestamp, nonce, signature) as used."""
        signed = "\n".join((self.timestamp, self.nonce, self.signature.lower()))
        return f"wx:nonce:{hashlib.sha256(signed.encode()).hexdigest()}"


def sign(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted strings, concatenated."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def check_signature(expected: str, given: str) -> None:
    """Raise BadSignature unless `given` is `expected`."""
    # Constant time: a byte-by-byte comparison would leak how much of a forgery was right.
    if not given or not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise BadSignature()


def check_timestamp(timestamp: str, now: float | None = None) -> None:
    """Raise StaleTimestamp for a push signed more than 300 s from our clock."""
    try:
        sent = int(timestamp)
    except ValueError:
        raise StaleTimestamp() from None
    if abs((time.time() if now is None else now) - sent) > TIMESTAMP_WINDOW_S:
        raise StaleTimestamp()


def echo(settings: Settings, push: Push, echostr: str, now: float | None = None) -> str:
    """The answer to WeChat's server check (GET): echostr, if the signature is ours."""
    check_signature(sign(settings.wechat_token, push.timestamp, push.nonce), push.signature)
    check_timestamp(push.timestamp, now)
    return echostr


def check_body(body: bytes) -> str:
    """The body as text, if it is small UTF-8 XML without any declaration."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    try:
        xml = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage() from None
    if _DECLARATION.search(xml):
        raise BadMessage("消息含有不允许的声明", code="wechat_declaration")
    return xml


def open_push(settings: Settings, push: Push, body: bytes, now: float | None = None) -> str:
    """The message XML of a push, after every check (signature, time, size, declarations)."""
    xml = check_body(body)
    check_timestamp(push.timestamp, now)
    check_signature(sign(settings.wechat_token, push.timestamp, push.nonce), push.signature)
    if not push.encrypted:
        if settings.wechat_aes_key:
            raise PlainRefused()
        return xml
    found = _ENCRYPTED.search(xml)
    if found is None:
        raise BadMessage()
    encrypt = found.group(1)
    check_signature(
        sign(settings.wechat_token, push.timestamp, push.nonce, encrypt), push.msg_signature
    )
    try:
        crypto = _crypto(settings.wechat_aes_key)
        inner = to_text(crypto.decrypt(encrypt, settings.wechat_app_id))
    except Exception as exc:  # bad padding, wrong app id, bad base64: never from WeChat
        raise BadMessage("消息解密失败", code="wechat_decrypt_failed") from exc
    return check_body(inner.encode())


@functools.lru_cache(maxsize=4)
def _crypto(encoding_aes_key: str) -> PrpCrypto:
    """wechatpy's safe-mode cipher for the EncodingAESKey (43 characters of base64)."""
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("WECHAT_AES_KEY must be 43 characters of base64")
    return PrpCrypto(key)


_KINDS: dict[str, InboundKind] = {"text": "text", "image": "image", "event": "event"}


def parse_inbound(xml: str) -> InboundMessage:
    """wechatpy's parse of the message XML, as the bot's InboundMessage."""
    try:
        message: BaseMessage = parse_message(xml)
        openid = str(message.source or "")
        create_time = int(message.time or 0)
    except Exception:
        raise BadMessage() from None
    if not openid or not create_time:
        raise BadMessage()
    kind = _KINDS.get(message.type, "other")
    return InboundMessage(
        openid=openid,
        kind=kind,
        create_time=create_time,
        content=str(getattr(message, "content", "") or "") if kind == "text" else "",
        media_id=str(getattr(message, "media_id", "") or "") if kind == "image" else "",
        event=str(getattr(message, "event", "") or "").lower() if kind == "event" else "",
        event_key=str(getattr(message, "key", "") or "") if kind == "event" else "",
        msg_id=str(message.id or "") if kind != "event" else "",
    )


def _script_call(msg: InboundMessage, replay_key: str | None) -> tuple[list[str], list[Any]]:
    # The fields are flat: a copy of __dict__ is asdict() without its deep-copy cost.
    fields = first_fields(INBOUND_JOB, dict(msg.__dict__), msg.openid)
    keys = [
        f"wx:seen:{message_identity(msg)}",
        INBOUND_STREAM,
        StreamKeys(INBOUND_STREAM).key_state(msg.openid),
        *([replay_key] if replay_key else []),
    ]
    return keys, [SEEN_TTL_S, DEFAULT_MAXLEN, KEY_STATE_TTL_S, *fields]


def _queued(msg: InboundMessage, entry: object) -> bool:
    if entry == REPLAYED:
        raise Replayed()
    if entry is None:
        log.info("duplicate WeChat push from %s dropped", mask_identifier(msg.openid))
        return False
    return True


async def enqueue_once(redis: Redis, msg: InboundMessage, replay_key: str | None = None) -> bool:
    """Queue the message for the bot, keyed by openid; False if it was seen before, Replayed if
    `replay_key` (Push.replay_key) was used before."""
    keys, args = _script_call(msg, replay_key)
    try:
        entry = await _MARK_AND_ENQUEUE(keys, args, client=redis)
    except (RedisError, OSError) as exc:
        log.error("cannot queue a WeChat message, asking WeChat to retry: %s", exc)
        raise Unavailable() from exc
    return _queued(msg, entry)


class InboundQueue:
    """enqueue_once for a busy webhook: the pushes that arrive while one Redis round trip is
    under way go together in the next one (a pipeline of the same script), as the worker's
    acks do. Each request still waits for its own answer before it answers WeChat."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._waiting: list[tuple[InboundMessage, str | None, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def put(self, msg: InboundMessage, replay_key: str | None = None) -> bool:
        """Queue one message; False if it was seen before (see enqueue_once)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((msg, replay_key, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                entries = await self._send([(msg, key) for msg, key, _ in batch])
            except Exception as exc:  # whatever it is, no request may wait for ever
                log.error("cannot queue WeChat messages, asking WeChat to retry: %s", exc)
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(Unavailable())
                continue
            for (msg, _, future), entry in zip(batch, entries, strict=True):
                if future.done():
                    continue
                try:
                    future.set_result(_queued(msg, entry))
                except Replayed as exc:
                    future.set_exception(exc)

    async def _send(self, messages: list[tuple[InboundMessage, str | None]]) -> list[object]:
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            for msg, replay_key in messages:
                keys, args = _script_call(msg, replay_key)
                pipe.evalsha(_MARK_AND_ENQUEUE.sha, len(keys), *keys, *args)
            try:
                return list(await pipe.execute())
            except NoScriptError:
                if attempt == 2:
                    raise
                # First use, or Redis restarted: a failed EVALSHA had no effect.
                await self.redis.script_load(_MARK_AND_ENQUEUE.script)
        raise AssertionError("unreachable")


async def receive(
    inbound: InboundQueue | Redis,
    settings: Settings,
    push: Push,
    body: bytes,
    now: float | None = None,
) -> bool:
    """Check, decrypt, parse and queue one push; True if queued, False for a duplicate."""
    try:
        msg = parse_inbound(open_push(settings, push, body, now))
        if isinstance(inbound, InboundQueue):
            return await inbound.put(msg, push.replay_key)
        return await enqueue_once(inbound, msg, push.replay_key)
    except ServiceError as exc:
        if exc.status < 500:  # forged, replayed or hostile pushes are worth seeing in the logs
            log.warning("refused a push to /wechat: %s", exc.code)
        raise
