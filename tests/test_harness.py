"""The harness itself: the fixtures give what they promise."""

from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from models.catalogue import Domain
from models.enterprise import Enterprise
from tests.conftest import BACKEND


async def test_the_fake_wechat_fixture_issues_tokens_to_the_configured_app(fake_wechat, settings):
    url = f"{fake_wechat.base_url}/cgi-bin/token"
    params = {
        "grant_type": "client_credential",
        "appid": settings.wechat_app_id,
        "secret": settings.wechat_secret,
    }
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as r:
        body = await r.json()
    assert body["expires_in"] == 7200 and body["access_token"]
    assert [c.path for c in fake_wechat.calls] == ["/cgi-bin/token"]


async def test_each_test_starts_with_the_catalogue_and_no_other_data_part_one(db):
    assert await Domain.all().count() == 40
    assert await Enterprise.all().count() == 0
    await Enterprise.create(
        uscc="91500000MA5U7R6P0X",
        name="甲",
        legal_rep_name="乙",
        legal_rep_id_hash="h",
        district="渝中区",
    )


async def test_each_test_starts_with_the_catalogue_and_no_other_data_part_two(db):
    # Runs after part one in file order: its enterprise must be gone.
    assert await Enterprise.all().count() == 0


async def test_redis_fixture_is_flushed_and_on_its_own_database(redis: Redis):
    assert await redis.dbsize() == 0
    db_number = redis.connection_pool.connection_kwargs["db"]
    assert db_number != 0


def test_the_backend_is_the_one_asked_for(database_url):
    assert database_url.startswith("sqlite://" if BACKEND == "sqlite" else "postgres://")
    if BACKEND == "sqlite":
        assert Path(database_url[len("sqlite://") :]).exists()
