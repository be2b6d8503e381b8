"""The PostgreSQL pool skips asyncpg's reset round trip: what it must still guarantee."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from infra.db import PooledConnection
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's pool only")


async def test_pool_hands_out_connections_without_the_reset_query(db: None) -> None:
    conn = connections.get("default")
    async with conn.acquire_connection() as raw:
        assert isinstance(raw, PooledConnection)
        assert raw.get_reset_query() == ""


async def test_a_failed_transaction_leaves_no_open_transaction_behind(db: None) -> None:
    with pytest.raises(ZeroDivisionError):
        async with in_transaction() as tx:
            await tx.execute_query("SELECT 1")
            raise ZeroDivisionError
    conn = connections.get("default")
    # The pool's only connection (or any of them) is back outside a transaction.
    for _ in range(5):
        async with conn.acquire_connection() as raw:
            assert not raw.is_in_transaction()
            assert await raw.fetchval("SELECT 1") == 1
