"""The WeChat API client: one shared access token, refreshes, retries, media and messages."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat import FakeClock, FakeWeChat
from services.wechat.client import (
    AccessTokens,
    MediaTooLarge,
    WeChatApiError,
    WeChatClient,
    WeChatUnavailable,
    oa_app,
    wechat_http,
)
from tests.wechat_support import NOTICE_TEMPLATE, wechat_settings

TOKEN = "/cgi-bin/token"
CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(500)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


@pytest.fixture
def fake(fake_wechat: FakeWeChat, settings: Settings) -> FakeWeChat:
    fake_wechat.templates[NOTICE_TEMPLATE] = ()
    fake_wechat.add_follower(settings.wechat_app_id, "o_alice")
    return fake_wechat


async def test_many_concurrent_callers_in_several_processes_fetch_one_token(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    async with wechat_http() as http:
        # Separate caches stand for separate processes: only Redis is shared.
        caches = [
            AccessTokens(redis, http, settings_on_fake.wechat_api_base, oa_app(settings_on_fake))
            for _ in range(20)
        ]
        tokens = await asyncio.gather(*(c.get() for c in caches))

    assert len(set(tokens)) == 1
    assert len(fake.calls_to(TOKEN)) == 1


async def test_the_token_is_reused_until_shortly_before_it_expires(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    async with wechat_http() as http:
        tokens = AccessTokens(
            redis, http, settings_on_fake.wechat_api_base, oa_app(settings_on_fake)
        )
        first = await tokens.get()
        assert await tokens.get() == first
        # Five minutes before expiry the next caller refreshes it.
        await redis.hset(tokens.key, "expires_at", time.time() + 200)
        second = await tokens.get()

    assert second != first
    assert len(fake.calls_to(TOKEN)) == 2


async def test_a_token_replaced_elsewhere_is_fetched_again_once_and_the_call_succeeds(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        await client.send_text("o_alice", "第一条")
        fake.issue_token(settings_on_fake.wechat_app_id)  # the back office fetched one: ours dies
        await client.send_text("o_alice", "第二条")

    assert [c.errcode for c in fake.calls_to(CUSTOM)] == [0, 40001, 0]
    assert len(fake.calls_to(TOKEN)) == 2
    assert [m.payload["text"]["content"] for m in fake.sent_to("o_alice")] == ["第一条", "第二条"]


async def test_an_expired_token_is_fetched_again(
    aiohttp_server, redis: Redis, settings: Settings
) -> None:
    from dataclasses import replace

    from fakes.wechat import create_fake_wechat_app

    clock = FakeClock(time.time())
    fake = FakeWeChat({settings.wechat_app_id: settings.wechat_secret}, clock=clock)
    fake.add_follower(settings.wechat_app_id, "o_alice")
    server = await aiohttp_server(create_fake_wechat_app(fake))
    on_fake = replace(settings, wechat_api_base=str(server.make_url("")).rstrip("/"))
    async with wechat_http() as http:
        client = WeChatClient.for_oa(on_fake, redis, http)
        await client.send_text("o_alice", "a")
        clock.advance(7200)  # WeChat's clock says expired; our cache does not know yet
        fake.touch("o_alice")
        await client.send_text("o_alice", "b")

    assert [c.errcode for c in fake.calls_to(CUSTOM)] == [0, 42001, 0]


async def test_system_busy_and_5xx_answers_are_retried_with_backoff(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    fake.fail_next(CUSTOM, -1)
    fake.fail_next_http(CUSTOM, 502)
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        client.backoff_s = 0.01
        await client.send_text("o_alice", "终于")

    assert [c.response.get("errcode", c.response.get("http_status")) for c in
            fake.calls_to(CUSTOM)] == [-1, 502, 0]  # fmt: skip
    assert len(fake.sent_to("o_alice")) == 1


async def test_retries_end_in_unavailable(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    fake.fail_next(CUSTOM, -1, times=10)
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        client.backoff_s = 0.001
        with pytest.raises(WeChatUnavailable):
            await client.send_text("o_alice", "x")
    assert len(fake.calls_to(CUSTOM)) == client.attempts


async def test_other_errcodes_are_raised_with_their_code(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        with pytest.raises(WeChatApiError) as err:
            await client.send_text("o_stranger", "x")
    assert err.value.errcode == 40003
    assert len(fake.calls_to(CUSTOM)) == 1  # not retried


async def test_an_image_is_uploaded_sent_and_can_be_downloaded(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        media_id = await client.upload_image(PNG)
        await client.send_image("o_alice", media_id)
        assert await client.download_media(media_id) == PNG
        with pytest.raises(WeChatApiError) as err:
            await client.download_media("no-such-media")

    assert err.value.errcode == 40007
    [sent] = fake.sent_to("o_alice")
    assert sent.payload["image"] == {"media_id": media_id}


async def test_an_image_over_2_mb_is_refused_before_any_upload(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        with pytest.raises(MediaTooLarge):
            await client.upload_image(PNG + bytes(2 * 1024 * 1024))
    assert fake.calls_to("/cgi-bin/media/upload") == []


async def test_a_template_message_with_a_used_client_msg_id_is_not_sent_twice(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    data = {"thing1": {"value": "异议已受理"}}
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        await client.send_template("o_alice", NOTICE_TEMPLATE, data, client_msg_id="event:1")
        await client.send_template("o_alice", NOTICE_TEMPLATE, data, client_msg_id="event:1")
        await client.send_template("o_alice", NOTICE_TEMPLATE, data, client_msg_id="event:2")

    assert [c.errcode for c in fake.calls_to(TEMPLATE)] == [0, 45065, 0]
    assert len(fake.sent_to("o_alice", "template")) == 2


async def test_a_token_endpoint_that_is_busy_or_down_is_retried_too(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    fake.fail_next(TOKEN, -1)
    fake.fail_next_http(TOKEN, 503)
    async with wechat_http() as http:
        client = WeChatClient.for_oa(settings_on_fake, redis, http)
        client.backoff_s = 0.01
        await client.send_text("o_alice", "到了")

    assert len(fake.calls_to(TOKEN)) == 3
    assert len(fake.sent_to("o_alice")) == 1


async def test_wrong_credentials_are_an_error_not_a_retry(
    redis: Redis, settings_on_fake: Settings, fake: FakeWeChat
) -> None:
    from dataclasses import replace

    wrong = replace(settings_on_fake, wechat_secret="not-the-secret")
    async with wechat_http() as http:
        with pytest.raises(WeChatApiError) as err:
            await WeChatClient.for_oa(wrong, redis, http).send_text("o_alice", "x")
    assert err.value.errcode == 40125
    assert len(fake.calls_to(TOKEN)) == 1
