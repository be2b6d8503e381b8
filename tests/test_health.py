import asyncio

from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app


async def test_healthz_answers_ok(cli):
    r = await cli.get("/healthz")
    assert r.status == 200, await r.text()
    assert (await r.json())["status"] == "ok"


async def test_readyz_is_ready_when_database_and_redis_answer(cli):
    r = await cli.get("/readyz")
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


async def test_readyz_is_503_with_a_chinese_reason_when_redis_is_unreachable(
    aiohttp_client, settings: Settings, db: str
):
    broken = Settings(**{**settings.__dict__, "redis_url": "redis://127.0.0.1:1/0"})
    client = await aiohttp_client(create_app(broken))
    r = await client.get("/readyz")
    assert r.status == 503, await r.text()
    body = await r.json()
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert "Redis" in body["message"] and "不可用" in body["message"]


async def test_unknown_route_answers_json_with_a_chinese_message(cli):
    r = await cli.get("/no/such/page")
    assert r.status == 404
    body = await r.json()
    assert body == {"code": "not_found", "message": "页面或接口不存在"}


async def test_every_response_carries_a_request_id(cli, redis: Redis):
    r = await cli.get("/healthz", headers={"X-Request-Id": "abcdef123456"})
    assert r.headers["X-Request-Id"] == "abcdef123456"
    r = await cli.get("/healthz", headers={"X-Request-Id": "bad id!"})
    assert r.headers["X-Request-Id"] != "bad id!" and len(r.headers["X-Request-Id"]) == 16


async def test_metrics_need_the_ops_token(cli):
    r = await cli.get("/metrics")
    assert r.status == 401
    assert (await r.json())["code"] == "ops_token_required"
    r = await cli.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status == 403
    assert (await r.json())["message"] == "运维令牌无效"


async def test_metrics_count_requests_by_route_pattern(cli):
    for _ in range(3):
        assert (await cli.get("/healthz")).status == 200
    await cli.get("/no/such/page")
    r = await cli.get("/metrics", headers={"Authorization": "Bearer test-ops-token"})
    assert r.status == 200, await r.text()
    text = await r.text()
    assert 'yucredit_http_requests_total{method="GET",route="/healthz",status="200"} 3.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'yucredit_http_request_seconds_bucket{le="0.005",method="GET",route="/healthz"}' in text


async def test_metrics_carry_the_queue_figures(cli, redis: Redis):
    from queues.producer import enqueue

    await enqueue(redis, "notify", "notify.send", {"n": 1})
    r = await cli.get("/metrics", headers={"Authorization": "Bearer test-ops-token"})
    text = await r.text()
    assert 'yucredit_queue_depth{stream="notify"} 1.0' in text
    assert 'yucredit_queue_dead_letters{stream="wx:inbound"} 0.0' in text
    assert 'yucredit_queue_events{event="processed",stream="notify",window="1h"} 0.0' in text


async def test_readyz_is_503_while_redis_restarts_and_200_when_it_is_back(
    aiohttp_client, settings: Settings, db: str, private_redis
):
    app_settings = Settings(**{**settings.__dict__, "redis_url": private_redis.url})
    client = await aiohttp_client(create_app(app_settings))
    assert (await client.get("/readyz")).status == 200
    private_redis.kill()
    r = await client.get("/readyz")
    assert r.status == 503, await r.text()
    assert (await client.get("/healthz")).status == 200  # alive, just not ready
    private_redis.start()
    statuses = []
    for _ in range(50):
        statuses.append((await client.get("/readyz")).status)
        if statuses[-1] == 200:
            break
        await asyncio.sleep(0.1)
    assert statuses[-1] == 200, statuses
