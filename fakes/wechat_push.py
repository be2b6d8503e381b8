"""WeChat's side of the webhook: the XML it pushes for a user's message, signed and encrypted.

Used by the tests, `run.py wechat simulate` and bench/webhook.py to talk to /wechat exactly as
WeChat does (safe mode with wechatpy's crypto, or plain mode).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

from wechatpy.crypto import WeChatCrypto

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


def next_msg_id() -> int:
    return next(_msg_ids)


def _envelope(openid: str, to: str, create_time: int | None, msg_type: str, body: str) -> str:
    """The fields every push carries, around the message type's own."""
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>"
    )


def text_xml(
    openid: str,
    content: str,
    *,
    to: str = "gh_yucredit",
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    """A user's text message as WeChat pushes it."""
    body = (
        f"<Content><![CDATA[{_cdata(content)}]]></Content><MsgId>{msg_id or next_msg_id()}</MsgId>"
    )
    return _envelope(openid, to, create_time, "text", body)


def image_xml(
    openid: str, media_id: str, *, to: str = "gh_yucredit", msg_id: int | None = None
) -> str:
    """A user's photo: WeChat pushes its temporary media_id (fetched with media/get)."""
    body = (
        f"<PicUrl><![CDATA[http://mmbiz.example/{escape(media_id)}]]></PicUrl>"
        f"<MediaId><![CDATA[{_cdata(media_id)}]]></MediaId>"
        f"<MsgId>{msg_id or next_msg_id()}</MsgId>"
    )
    return _envelope(openid, to, None, "image", body)


def event_xml(
    openid: str,
    event: str,
    key: str = "",
    *,
    to: str = "gh_yucredit",
    create_time: int | None = None,
) -> str:
    """An event (subscribe, CLICK ...): events carry no MsgId."""
    body = f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{_cdata(key)}]]></EventKey>"
    return _envelope(openid, to, create_time, "event", body)


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


def signature(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted strings, concatenated."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


@dataclass(frozen=True)
class PushSigner:
    """Signs (and in safe mode encrypts) pushes for one Official Account configuration."""

    token: str
    aes_key: str = ""
    app_id: str = ""

    def sign(
        self, xml: str, *, encrypt: bool = True, timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The query string and body of a push of `xml`."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = secrets.token_hex(5)
        query = {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if not encrypt:
            return query, xml.encode()
        envelope = WeChatCrypto(self.token, self.aes_key, self.app_id).encrypt_message(
            xml, nonce, ts
        )
        # wechatpy's envelope carries the signature too; WeChat puts it in the query.
        encrypted = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(self.token, ts, nonce, encrypted)
        body = (
            f"<xml><ToUserName><![CDATA[gh_yucredit]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        return query, body.encode()
