"""The /wechat webhook: WeChat's server check, signed pushes in both modes, and every rejection."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat_push import PushSigner, event_xml, image_xml, signature, text_xml
from handlers.app import create_app
from services.wechat.webhook import INBOUND_STREAM
from tests.wechat_support import post_signed, signer_for, wechat_settings

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o_evil</FromUserName><CreateTime>{ts}</CreateTime>
<MsgType>text</MsgType><Content>&lol4;</Content><MsgId>1</MsgId></xml>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o_evil</FromUserName><CreateTime>{ts}</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


async def queued(redis: Redis) -> list[dict]:
    rows = await redis.xrange(INBOUND_STREAM)
    return [{"key": f[b"key"].decode(), **json.loads(f[b"payload"])} for _, f in rows]


async def test_the_server_check_echoes_echostr_when_signed_with_our_token(
    cli: TestClient, settings: Settings
) -> None:
    ts, nonce = str(int(time.time())), "n0nce"
    query = {"signature": signature(settings.wechat_token, ts, nonce), "timestamp": ts,
             "nonce": nonce, "echostr": "echo-123"}  # fmt: skip
    resp = await cli.get("/wechat", params=query)
    assert resp.status == 200, await resp.text()
    assert await resp.text() == "echo-123"

    forged = await cli.get("/wechat", params={**query, "signature": "0" * 40})
    assert forged.status == 403
    assert (await forged.json())["code"] == "wechat_bad_signature"


async def test_an_encrypted_text_message_is_queued_keyed_by_openid(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    resp = await post_signed(cli, settings, text_xml("o_alice", "查报告", msg_id=101))

    assert resp.status == 200, await resp.text()
    assert await resp.text() == "success"
    [job] = await queued(redis)
    assert job["key"] == "o_alice"
    assert (job["openid"], job["kind"], job["content"], job["msg_id"]) == (
        "o_alice",
        "text",
        "查报告",
        "101",
    )


async def test_a_plain_mode_message_is_queued_when_no_aes_key_is_configured(
    aiohttp_client, settings: Settings, db: str, redis: Redis
) -> None:
    plain = replace(settings, wechat_aes_key="")
    cli = await aiohttp_client(create_app(plain))
    resp = await post_signed(cli, plain, text_xml("o_alice", "你好"), encrypt=False)

    assert resp.status == 200, await resp.text()
    assert [j["content"] for j in await queued(redis)] == ["你好"]


async def test_images_and_events_are_parsed_into_inbound_messages(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    await post_signed(cli, settings, image_xml("o_alice", "MEDIA_1"))
    await post_signed(cli, settings, event_xml("o_alice", "CLICK", "MENU_REPORT"))

    image, click = await queued(redis)
    assert (image["kind"], image["media_id"]) == ("image", "MEDIA_1")
    assert (click["kind"], click["event"], click["event_key"]) == ("event", "click", "MENU_REPORT")


@pytest.mark.parametrize("encrypt", [True, False])
async def test_a_forged_signature_is_refused_and_nothing_is_queued(
    cli: TestClient, settings: Settings, redis: Redis, encrypt: bool
) -> None:
    forger = PushSigner("not-our-token", settings.wechat_aes_key, settings.wechat_app_id)
    query, body = forger.sign(text_xml("o_alice", "hi"), encrypt=encrypt)

    resp = await cli.post("/wechat", params=query, data=body)
    assert resp.status == 403, await resp.text()
    assert (await resp.json())["message"] == "签名校验失败"
    assert await queued(redis) == []


async def test_a_good_signature_over_a_swapped_body_is_refused(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    query, _ = signer_for(settings).sign(text_xml("o_alice", "hi"))
    _, other_body = signer_for(settings).sign(text_xml("o_mallory", "hi"))

    resp = await cli.post("/wechat", params=query, data=other_body)
    assert resp.status == 403
    assert await queued(redis) == []


@pytest.mark.parametrize("offset", [-301, 301])
async def test_a_timestamp_more_than_300_s_off_is_refused(
    cli: TestClient, settings: Settings, redis: Redis, offset: int
) -> None:
    resp = await post_signed(
        cli, settings, text_xml("o_alice", "hi"), timestamp=int(time.time()) + offset
    )
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["code"] == "wechat_stale_timestamp"
    assert await queued(redis) == []


async def test_a_replayed_push_is_not_queued_again(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    query, body = signer_for(settings).sign(text_xml("o_alice", "hi", msg_id=7))
    first = await cli.post("/wechat", params=query, data=body)
    replay = await cli.post("/wechat", params=query, data=body)

    # WeChat signs each retry afresh (a new nonce): a second use of one signature is a replay.
    assert (first.status, replay.status) == (200, 403)
    assert (await replay.json())["code"] == "wechat_replayed"
    assert len(await queued(redis)) == 1


async def test_wechats_three_retries_of_one_message_queue_it_once(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    xml = text_xml("o_alice", "确认", msg_id=555, create_time=int(time.time()))
    for _ in range(3):  # each retry is signed afresh, with a new nonce
        assert (await post_signed(cli, settings, xml)).status == 200

    assert [j["msg_id"] for j in await queued(redis)] == ["555"]


async def test_events_are_deduplicated_by_user_and_create_time(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    now = int(time.time())
    await post_signed(cli, settings, event_xml("o_alice", "subscribe", create_time=now))
    await post_signed(cli, settings, event_xml("o_alice", "subscribe", create_time=now))
    await post_signed(cli, settings, event_xml("o_bob", "subscribe", create_time=now))
    await post_signed(cli, settings, event_xml("o_alice", "CLICK", "K", create_time=now + 1))

    assert [(j["openid"], j["event"]) for j in await queued(redis)] == [
        ("o_alice", "subscribe"),
        ("o_bob", "subscribe"),
        ("o_alice", "click"),
    ]


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
@pytest.mark.parametrize("encrypt", [True, False])
async def test_bodies_with_a_dtd_are_refused(
    cli: TestClient, settings: Settings, redis: Redis, body: str, encrypt: bool
) -> None:
    xml = body.format(ts=int(time.time()))
    resp = await post_signed(cli, settings, xml, encrypt=encrypt)

    assert resp.status == 400, await resp.text()
    assert (await resp.json())["code"] == "wechat_declaration"
    assert await queued(redis) == []


async def test_a_300_kb_body_is_refused(cli: TestClient, settings: Settings, redis: Redis) -> None:
    xml = text_xml("o_alice", "长" * 100_000)  # 300 KB of UTF-8
    resp = await post_signed(cli, settings, xml, encrypt=False)

    assert resp.status == 413, await resp.text()
    assert (await resp.json())["message"] == "消息体过大"
    assert await queued(redis) == []


async def test_a_chunked_body_is_cut_off_past_64_kib_however_it_is_sent(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    query, _ = signer_for(settings).sign(text_xml("o_alice", "hi"), encrypt=False)

    async def chunks():  # no Content-Length: the size is only known while reading
        for _ in range(20):
            yield b"<xml>" + b" " * 16 * 1024

    resp = await cli.post("/wechat", params=query, data=chunks())
    assert resp.status == 413, await resp.text()
    assert await queued(redis) == []


async def test_a_body_that_does_not_decrypt_is_refused(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    ts, nonce, junk = str(int(time.time())), "abc", "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"
    query = {"signature": signature(settings.wechat_token, ts, nonce), "timestamp": ts,
             "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": signature(settings.wechat_token, ts, nonce, junk)}  # fmt: skip
    body = f"<xml><Encrypt><![CDATA[{junk}]]></Encrypt></xml>"

    resp = await cli.post("/wechat", params=query, data=body.encode())
    assert resp.status == 400, await resp.text()
    assert await queued(redis) == []


async def test_when_redis_is_down_the_answer_is_503_so_that_wechat_retries(
    aiohttp_client, settings: Settings, db: str
) -> None:
    dead = replace(settings, redis_url="redis://127.0.0.1:1/0")
    cli = await aiohttp_client(create_app(dead))

    resp = await post_signed(cli, dead, text_xml("o_alice", "hi"))
    assert resp.status == 503, await resp.text()
    assert (await resp.json())["code"] == "unavailable"


async def test_messages_of_one_user_keep_their_order_numbers(
    cli: TestClient, settings: Settings, redis: Redis
) -> None:
    for word in ("一", "二", "三"):
        await post_signed(cli, settings, text_xml("o_alice", word))
    rows = await redis.xrange(INBOUND_STREAM)
    assert [int(f[b"seq"]) for _, f in rows] == [1, 2, 3]


async def test_concurrent_pushes_share_round_trips_and_each_gets_its_own_answer(
    redis: Redis, settings: Settings
) -> None:
    from services.wechat.messages import InboundMessage
    from services.wechat.webhook import InboundQueue

    await redis.script_flush()  # as after a Redis restart: the script must be loaded again
    inbound = InboundQueue(redis)
    messages = [
        InboundMessage(f"o_user{n % 5}", "text", 1_700_000_000, content=str(n), msg_id=str(n))
        for n in range(40)
    ]
    answers = await asyncio.gather(*(inbound.put(m) for m in [*messages, messages[3]]))

    assert answers == [True] * 40 + [False]  # the repeat of message 3 is a duplicate
    jobs = await queued(redis)
    assert sorted(int(j["content"]) for j in jobs) == list(range(40))
    for n in range(5):  # each user's messages keep their order
        mine = [int(j["content"]) for j in jobs if j["key"] == f"o_user{n}"]
        assert mine == sorted(mine)
