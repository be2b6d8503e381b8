"""The bot worker's job: users and their window, the engine step once, order per user."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat_push import text_xml
from models.enums import NotificationStatus
from models.user import Notification, User
from queues import JobContext, Registry, StreamConfig, Worker, worker_redis
from services.objections.events import NOTIFY_STREAM
from services.wechat.inbound import inbound_job
from services.wechat.messages import InboundMessage, OutboundMessage
from services.wechat.outbound import OUTBOUND_STREAM, held_key, quota_key
from services.wechat.webhook import INBOUND_JOB, INBOUND_STREAM, enqueue_once
from tests.conftest import REDIS_URL
from tests.wechat_engines import echo_engine, max_busy_key, state_key, step_engine
from tests.wechat_support import post_signed, wechat_settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


def context(redis: Redis, settings: Settings, job_id: str = "1-0") -> JobContext:
    return JobContext(redis, settings, INBOUND_STREAM, INBOUND_JOB, job_id, job_id, 1, "o_alice")


def message(content: str = "你好", openid: str = "o_alice", msg_id: str = "42") -> dict[str, Any]:
    return InboundMessage(
        openid, "text", int(time.time()), content=content, msg_id=msg_id
    ).to_dict()


async def outbound(redis: Redis) -> list[tuple[str, dict[str, Any]]]:
    rows = await redis.xrange(OUTBOUND_STREAM)
    return [(f[b"key"].decode(), json.loads(f[b"payload"])) for _, f in rows]


async def state(redis: Redis, openid: str = "o_alice") -> dict[str, Any]:
    return json.loads(await redis.get(state_key(openid)) or "{}")


async def test_a_message_records_the_user_and_queues_the_engines_replies(
    redis: Redis, settings: Settings, db: str
) -> None:
    before = time.time()
    await inbound_job(echo_engine)(context(redis, settings), message("查报告"))

    user = await User.get(oa_openid="o_alice")
    assert user.oa_last_message_at is not None
    assert user.oa_last_message_at.timestamp() >= int(before)
    [(key, reply)] = await outbound(redis)
    assert key == "o_alice"
    assert OutboundMessage.from_dict(reply) == OutboundMessage(
        "o_alice", "text", text="你说：查报告"
    )


async def test_a_second_delivery_of_a_finished_step_does_not_run_the_engine_again(
    redis: Redis, settings: Settings, db: str
) -> None:
    calls: list[str] = []

    async def counting(redis: Redis, settings: Settings, msg: InboundMessage) -> list:
        calls.append(msg.content)
        return await echo_engine(redis, settings, msg)

    handle = inbound_job(counting)
    await handle(context(redis, settings, "7-0"), message("一"))
    await handle(context(redis, settings, "7-0"), message("一"))  # the ack was lost

    assert calls == ["一"]
    assert len(await outbound(redis)) == 1


async def test_held_messages_go_out_first_when_the_user_writes_again(
    redis: Redis, settings: Settings, db: str
) -> None:
    held = OutboundMessage("o_alice", "text", text="之前的回复")
    await redis.rpush(held_key("o_alice"), json.dumps(held.to_dict()))
    await redis.set(quota_key("o_alice"), 5)

    await inbound_job(echo_engine)(context(redis, settings), message("我回来了"))

    assert [r["text"] for _, r in await outbound(redis)] == ["之前的回复", "你说：我回来了"]
    assert await redis.llen(held_key("o_alice")) == 0
    assert await redis.get(quota_key("o_alice")) is None


async def test_held_notices_are_queued_again_when_the_user_writes(
    redis: Redis, settings: Settings, db: str
) -> None:
    user = await User.create(oa_openid="o_alice")
    request = {"key": "objection-event:1", "user_id": user.id, "text": "已受理"}
    await Notification.create(key="objection-event:1", user=user, status=NotificationStatus.HELD,
                              payload={"request": request, "progress": {}})  # fmt: skip

    await inbound_job(echo_engine)(context(redis, settings), message())

    [(_, fields)] = await redis.xrange(NOTIFY_STREAM)
    assert json.loads(fields[b"payload"]) == request


async def test_the_workers_registry_answers_with_the_engine_its_composer_gives(
    redis: Redis, settings: Settings, db: str
) -> None:
    from services.jobs import build_registry

    async def composed_engine(
        redis: Redis, settings: Settings, msg: InboundMessage
    ) -> list[OutboundMessage]:
        return [OutboundMessage(msg.openid, "text", text=f"组装的引擎：{msg.content}")]

    handle = build_registry(settings, bot_engine=composed_engine).get(INBOUND_JOB)
    await handle(context(redis, settings), message("查报告"))

    [(_, reply)] = await outbound(redis)
    assert reply["text"] == "组装的引擎：查报告"


async def run_workers(
    redis: Redis, settings: Settings, done: Any, workers: int = 2, timeout: float = 15
) -> None:
    """Run `workers` bot workers (step_engine) in this process until done() is true."""
    registry = Registry()
    registry.add(INBOUND_JOB, inbound_job(step_engine))
    clients = [worker_redis(REDIS_URL, block_ms=100) for _ in range(workers)]
    running = [
        Worker(
            c,
            registry,
            [StreamConfig(INBOUND_STREAM)],
            concurrency=4,
            context=settings,
            block_ms=100,
            mover_interval_s=0.05,
        )  # fmt: skip
        for c in clients
    ]
    tasks = [asyncio.create_task(w.run()) for w in running]
    try:
        deadline = time.monotonic() + timeout
        while not await done():
            assert time.monotonic() < deadline, "the workers did not finish in time"
            await asyncio.sleep(0.05)
    finally:
        for w in running:
            w.stop()
        await asyncio.gather(*tasks)
        for c in clients:
            await c.aclose()
    assert sum(w.processed for w in running) > 0


async def test_wechats_three_deliveries_of_one_message_start_the_dialog_step_once(
    cli: TestClient, redis: Redis, settings: Settings
) -> None:
    xml = text_xml("o_alice", "确认", msg_id=9001)
    for _ in range(3):
        assert (await post_signed(cli, settings, xml)).status == 200

    async def handled() -> bool:
        return (await state(redis)).get("steps") == 1 and await redis.xlen(INBOUND_STREAM) == 0

    await run_workers(redis, settings, handled)
    assert await redis.hget(f"{INBOUND_STREAM}:key:o_alice", "seq") == b"1"  # one job ever
    assert (await state(redis))["log"] == ["确认"]
    assert len(await outbound(redis)) == 1


async def test_two_messages_of_one_user_in_the_same_millisecond_on_two_workers_keep_order(
    redis: Redis, settings: Settings, db: str
) -> None:
    now = int(time.time())
    first = InboundMessage("o_alice", "text", now, content="一 slow-before", msg_id="1")
    second = InboundMessage("o_alice", "text", now, content="二", msg_id="2")
    pipe = redis.pipeline(transaction=True)  # both entries in one instant
    await enqueue_once(pipe, first)  # type: ignore[arg-type]
    await enqueue_once(pipe, second)  # type: ignore[arg-type]
    await pipe.execute()

    async def handled() -> bool:
        return (await state(redis)).get("steps") == 2

    await run_workers(redis, settings, handled)
    assert (await state(redis))["log"] == ["一 slow-before", "二"]
    assert int(await redis.get(max_busy_key("o_alice"))) == 1  # never two steps at once
    assert [r["text"] for _, r in await outbound(redis)] == ["第1步：一 slow-before", "第2步：二"]


async def test_many_users_interleaved_on_two_workers_each_keep_their_order(
    redis: Redis, settings: Settings, db: str
) -> None:
    users = [f"o_user{i}" for i in range(5)]
    for n in range(8):
        for openid in users:
            text = f"{n} slow-before" if n == 0 else str(n)
            await enqueue_once(redis, InboundMessage(openid, "text", n + 1, content=text,
                                                     msg_id=f"{openid}-{n}"))  # fmt: skip
    await redis.set("bot:test:pause", 0.05)

    async def handled() -> bool:
        return all([(await state(redis, u)).get("steps") == 8 for u in users])

    await run_workers(redis, settings, handled)
    for openid in users:
        assert (await state(redis, openid))["log"] == ["0 slow-before", *map(str, range(1, 8))]
        assert int(await redis.get(max_busy_key(openid))) == 1


def test_the_workers_registry_knows_the_wechat_jobs(settings: Settings) -> None:
    from services.jobs import build_registry

    names = build_registry(settings, bot_engine=echo_engine).names
    assert {"wx.inbound", "wx.outbound", "notify.send", "report.render"} <= set(names)


def event(name: str, openid: str = "o_alice") -> dict[str, Any]:
    return InboundMessage(openid, "event", int(time.time()), event=name).to_dict()


async def test_events_that_are_no_user_action_neither_open_the_window_nor_reach_the_engine(
    redis: Redis, settings: Settings, db: str
) -> None:
    await redis.rpush(held_key("o_alice"), json.dumps(OutboundMessage("o_alice", "text").to_dict()))
    handle = inbound_job(echo_engine)
    await handle(context(redis, settings, "1-0"), event("templatesendjobfinish"))
    await handle(context(redis, settings, "2-0"), event("view"))

    assert (await User.get(oa_openid="o_alice")).oa_last_message_at is None
    assert await outbound(redis) == []
    assert await redis.llen(held_key("o_alice")) == 1  # still held: the user wrote nothing


async def test_following_opens_the_window_and_unfollowing_closes_it(
    redis: Redis, settings: Settings, db: str
) -> None:
    handle = inbound_job(echo_engine)
    await handle(context(redis, settings, "1-0"), event("subscribe"))
    assert (await User.get(oa_openid="o_alice")).oa_last_message_at is not None
    assert len(await outbound(redis)) == 1  # the engine greets a new follower

    await handle(context(redis, settings, "2-0"), event("unsubscribe"))
    assert (await User.get(oa_openid="o_alice")).oa_last_message_at is None
