"""Attacks on /wechat: forged pushes by downgrade to plain mode, replayed signatures, and
compatible mode's plaintext copy, each sent to the whole application as an attacker would."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat_push import text_xml
from handlers.app import create_app
from services.wechat.webhook import INBOUND_STREAM
from tests.wechat_support import signer_for, wechat_settings

VICTIM = "o_victim_openid"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


async def queued(redis: Redis) -> list[dict]:
    return [json.loads(f[b"payload"]) for _, f in await redis.xrange(INBOUND_STREAM)]


async def test_a_safe_mode_url_cannot_carry_a_forged_plain_body(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    # The attacker saw one genuine push URL (it carries `signature`), drops encrypt_type and
    # msg_signature, and posts plaintext as the victim: plain mode's signature ignores the body.
    query, _ = signer_for(settings).sign(text_xml("o_alice", "你好"))
    downgraded = {k: query[k] for k in ("signature", "timestamp", "nonce")}
    statuses = []
    for n in range(4):
        forged = text_xml(VICTIM, f"绑定企业 {n}").encode()
        r = await cli.post("/wechat", params=downgraded, data=forged)
        statuses.append((r.status, (await r.json())["code"]))

    assert statuses == [(403, "wechat_plain_refused")] * 4
    assert await queued(redis) == []


async def test_in_plain_mode_one_signature_is_taken_once(
    aiohttp_client, settings: Settings, db: str, redis: Redis
) -> None:
    plain = replace(settings, wechat_aes_key="")
    cli = await aiohttp_client(create_app(plain))
    query, body = signer_for(plain).sign(text_xml("o_alice", "查报告"), encrypt=False)
    assert (await cli.post("/wechat", params=query, data=body)).status == 200

    answers = []
    for n in range(4):  # the same URL, other bodies, as anyone
        r = await cli.post("/wechat", params=query, data=text_xml(VICTIM, f"伪造 {n}").encode())
        answers.append((r.status, (await r.json())["code"]))

    assert answers == [(403, "wechat_replayed")] * 4
    assert [m["openid"] for m in await queued(redis)] == ["o_alice"]


async def test_a_safe_mode_push_is_taken_once_even_when_replayed_at_once(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    query, body = signer_for(settings).sign(text_xml("o_alice", "hi"))
    answers = await asyncio.gather(
        *(cli.post("/wechat", params=query, data=body) for _ in range(10))
    )
    assert sorted(r.status for r in answers) == [200] + [403] * 9
    assert len(await queued(redis)) == 1


@pytest.mark.parametrize("drop", ["msg_signature", "signature", "both"])
async def test_every_safe_mode_push_needs_both_signatures(
    cli: TestClient, settings: Settings, redis: Redis, drop: str
) -> None:
    query, body = signer_for(settings).sign(text_xml("o_alice", "hi"))
    names = ["msg_signature", "signature"] if drop == "both" else [drop]
    r = await cli.post("/wechat", params={k: v for k, v in query.items() if k not in names},
                       data=body)  # fmt: skip
    assert r.status == 403 and (await r.json())["code"] == "wechat_bad_signature"
    assert await queued(redis) == []


def _compatible(body: bytes, plain_openid: str, plain_text: str) -> bytes:
    """Compatible mode's body: the plaintext fields beside the ciphertext (WeChat sends both)."""
    copy = text_xml(plain_openid, plain_text)
    inner = copy.removeprefix("<xml>").removesuffix("</xml>")
    return body.replace(b"<xml>", b"<xml>" + inner.encode(), 1)


async def test_compatible_mode_takes_the_ciphertext_and_ignores_the_plaintext_copy(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    query, body = signer_for(settings).sign(text_xml("o_alice", "查报告"))
    # A man in the middle rewrites the plaintext copy; msg_signature does not cover it.
    r = await cli.post("/wechat", params=query, data=_compatible(body, VICTIM, "伪造"))

    assert r.status == 200, await r.text()
    [message] = await queued(redis)
    assert (message["openid"], message["content"]) == ("o_alice", "查报告")


async def test_compatible_mode_without_msg_signature_is_refused(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    query, body = signer_for(settings).sign(text_xml("o_alice", "查报告"))
    del query["msg_signature"]
    r = await cli.post("/wechat", params=query, data=_compatible(body, VICTIM, "伪造"))
    assert r.status == 403
    assert await queued(redis) == []
