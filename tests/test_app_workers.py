"""The queue workers inside the serving process: reports apart from the bot's messages."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from services.jobs import last_canaries, send_canaries
from services.reports.issuing import RENDER_STREAM
from services.wechat.outbound import OUTBOUND_STREAM
from services.wechat.webhook import INBOUND_STREAM

STREAMS = (INBOUND_STREAM, OUTBOUND_STREAM, RENDER_STREAM)


async def who_read(redis: Redis) -> dict[str, set[str]]:
    """Put a probe on every stream; once answered, the consumers that took each stream's."""
    await send_canaries(redis, "test")
    for _ in range(200):
        answered = await last_canaries(redis)
        if all(answered.get(s) for s in STREAMS):
            break
        await asyncio.sleep(0.05)
    names: dict[str, set[str]] = {}
    for stream in STREAMS:
        found = await redis.xinfo_consumers(stream, "workers")
        names[stream] = {c["name"].decode() for c in found if _took_one(c)}
    return names


def _took_one(consumer: dict) -> bool:
    # Redis 7.2 lists a consumer from its first read and says -1 until it is delivered an entry;
    # Redis 7.0 lists it only once it has been delivered one.
    return consumer.get("inactive", 0) != -1


async def test_reports_are_taken_by_a_worker_of_their_own_beside_the_messages_worker(
    aiohttp_client, settings: Settings, db: str, redis: Redis
) -> None:
    await aiohttp_client(create_app(settings, with_workers=1))

    taken = await who_read(redis)

    assert all(len(names) == 1 for names in taken.values()), taken
    assert taken[INBOUND_STREAM] == taken[OUTBOUND_STREAM]  # one worker for the messages
    assert taken[RENDER_STREAM].isdisjoint(taken[INBOUND_STREAM])  # another for the reports


async def test_workers_told_to_leave_reports_out_do_not_take_them(
    aiohttp_client, settings: Settings, db: str, redis: Redis
) -> None:
    app = create_app(settings, with_workers=1, worker_streams=[INBOUND_STREAM, OUTBOUND_STREAM])
    await aiohttp_client(app)

    await send_canaries(redis, "test")
    for _ in range(200):
        answered = await last_canaries(redis)
        if answered.get(INBOUND_STREAM) and answered.get(OUTBOUND_STREAM):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # time enough for a render probe too, were it read

    assert answered[INBOUND_STREAM] and answered[OUTBOUND_STREAM]
    assert answered[RENDER_STREAM] is None
    assert await redis.xlen(RENDER_STREAM) == 1  # the probe waits for a render worker
