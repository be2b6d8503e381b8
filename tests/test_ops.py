"""The ops view: figures per stream, dead letters with masked payloads, audited actions."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from models.audit import AuditEntry
from queues.config import StreamConfig
from queues.dead import count_dead
from queues.producer import enqueue
from queues.registry import JobContext, Registry
from queues.worker import Worker, worker_redis
from services.jobs import last_canaries
from tests.conftest import REDIS_URL
from tests.staff_support import ops_headers


@pytest.fixture
async def ops(cli: TestClient) -> dict[str, str]:
    """The client signed in as an ops person; the CSRF header its API calls carry."""
    return await ops_headers(cli)


async def bury_a_job(redis: Redis, payload: dict) -> None:
    """Run a worker whose handler always raises, until the job is in the dead-letter stream."""
    registry = Registry()

    @registry.job("notify.send")
    async def always_fails(ctx: JobContext, payload: dict) -> None:
        raise RuntimeError("模板消息发送失败 for 13812345678")

    before = await count_dead(redis, "notify")
    await enqueue(redis, "notify", "notify.send", payload)
    client = worker_redis(REDIS_URL)
    config = StreamConfig("notify", max_deliveries=1, backoff_base_s=0.01)
    worker = Worker(client, registry, [config], concurrency=1, block_ms=100)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(100):
            if await count_dead(redis, "notify") > before:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await task
        await client.aclose()
    assert await count_dead(redis, "notify") == before + 1


PERSONAL = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "phone": "13812345678", "ticket": "YY1"}


async def test_ops_api_needs_an_ops_person_signed_in(cli: TestClient):
    r = await cli.get("/ops/api/queues")
    assert r.status == 401
    assert (await r.json())["message"] == "请先登录工作人员账号"
    r = await cli.get("/ops/api/queues", headers={"Authorization": "Bearer test-ops-token"})
    assert r.status == 401  # the token is for /metrics only


async def test_the_ops_page_sends_strangers_to_the_staff_sign_in(cli: TestClient):
    r = await cli.get("/ops", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/staff/login?next=/ops"
    r = await cli.get("/ops/login", allow_redirects=False)
    assert r.headers["Location"] == "/staff/login?next=/ops"


async def test_an_ops_person_signed_in_sees_the_page_with_their_name(
    cli: TestClient, ops: dict[str, str]
):
    r = await cli.get("/ops")
    assert r.status == 200
    html = await r.text()
    assert "消息队列概览" in html and 'http-equiv="refresh"' in html and "李运维" in html
    assert f'name="csrf_token" value="{ops["X-CSRF-Token"]}"' in html
    for stream in ("wx:inbound", "wx:outbound", "reports:render", "notify"):
        assert stream in html


async def test_queue_figures_show_depth_and_lag_of_unhandled_jobs(
    cli: TestClient, redis: Redis, ops: dict[str, str]
):
    for i in range(3):
        await enqueue(redis, "reports:render", "report.render", {"report_id": i})
    r = await cli.get("/ops/api/queues", headers=ops)
    assert r.status == 200, await r.text()
    streams = {s["stream"]: s for s in (await r.json())["streams"]}
    assert set(streams) == {"wx:inbound", "wx:outbound", "reports:render", "notify"}
    assert streams["reports:render"]["depth"] == 3
    assert streams["notify"]["depth"] == 0
    assert {"pending", "lag", "oldest_pending_age_s", "consumers", "dead", "last_minute",
            "last_hour"} <= set(streams["notify"])  # fmt: skip


async def test_dead_letters_are_listed_masked_then_requeued_and_audited(
    cli: TestClient, redis: Redis, ops: dict[str, str]
):
    await bury_a_job(redis, PERSONAL)
    r = await cli.get("/ops/api/dead/notify", headers=ops)
    body = await r.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["payload"]["phone"] != "13812345678" and item["payload"]["ticket"] == "YY1"
    assert "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" not in str(item)
    assert "13812345678" not in item["error"] and "138****5678" in item["error"]
    assert "RuntimeError" in item["error"] and "always_fails" in item["traceback"]

    html = await (await cli.get("/ops", headers=ops)).text()
    assert "死信：notify（共 1 条）" in html and "13812345678" not in html

    r = await cli.post(f"/ops/api/dead/notify/{item['entry_id']}/requeue", headers=ops)
    assert r.status == 200, await r.text()
    assert await count_dead(redis, "notify") == 0
    assert await redis.xlen("notify") == 1
    audit = await AuditEntry.filter(action="queue.dead.requeued").first()
    assert audit is not None and audit.object_id == f"notify/{item['entry_id']}"
    assert audit.actor == "staff:ops.li"  # the person, not a shared token

    r = await cli.post(f"/ops/api/dead/notify/{item['entry_id']}/requeue", headers=ops)
    assert r.status == 404
    assert (await r.json())["code"] == "dead_letter_not_found"


async def test_a_dead_letter_can_be_dropped_from_the_page_form(
    cli: TestClient, redis: Redis, ops: dict[str, str]
):
    await bury_a_job(redis, {"n": 1})
    entry_id = (await (await cli.get("/ops/api/dead/notify", headers=ops)).json())["items"][0][
        "entry_id"
    ]
    r = await cli.post(f"/ops/dead/notify/{entry_id}/drop", headers=ops, allow_redirects=False)
    assert r.status == 303
    assert await count_dead(redis, "notify") == 0
    assert await AuditEntry.filter(action="queue.dead.dropped").count() == 1


async def test_requeue_all_moves_every_dead_letter(
    cli: TestClient, redis: Redis, ops: dict[str, str]
):
    await bury_a_job(redis, {"n": 1})
    await bury_a_job(redis, {"n": 2})
    r = await cli.post("/ops/api/dead/notify/requeue-all", headers=ops)
    assert (await r.json()) == {"requeued": 2}
    assert await count_dead(redis, "notify") == 0


async def test_an_unknown_stream_is_refused(cli: TestClient, ops: dict[str, str]):
    r = await cli.get("/ops/api/dead/nope", headers=ops)
    assert r.status == 400
    assert (await r.json())["code"] == "unknown_stream"


@pytest.fixture
async def serving_with_workers(aiohttp_client, settings: Settings, db: str, redis: Redis):
    return await aiohttp_client(create_app(settings, with_workers=2))


async def test_canaries_go_round_every_stream_through_the_in_process_workers(
    serving_with_workers: TestClient, redis: Redis
):
    cli = serving_with_workers
    ops = await ops_headers(cli)
    r = await cli.post("/ops/api/canary", headers=ops)
    assert r.status == 200, await r.text()
    for _ in range(100):
        data = (await (await cli.get("/ops/api/queues", headers=ops)).json())["streams"]
        if all(s["last_minute"]["processed"] >= 1 for s in data):
            break
        await asyncio.sleep(0.05)
    assert all(s["last_minute"]["processed"] >= 1 for s in data), data
    assert all(s["consumers"] for s in data)
    for _ in range(100):
        canaries = await last_canaries(redis)
        if all(canaries.values()):
            break
        await asyncio.sleep(0.05)
    assert all(c and c["latency_ms"] >= 0 for c in canaries.values()), canaries
    html = await (await cli.get("/ops", headers=ops)).text()
    assert "往返" in html
    assert await AuditEntry.filter(action="queue.canary.sent").count() == 1
