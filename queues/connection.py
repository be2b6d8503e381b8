"""The one way every part of the app gets a Redis client: a plain URL, or Sentinel.

`redis+sentinel://HOST:PORT,HOST:PORT/SERVICE/DB` asks the sentinels which server is the
master of SERVICE, and asks again when that master stops answering or turns read-only after a
fail-over, so servers and workers follow a promoted replica by themselves. Such a client also
waits, after putting a job on a stream, until a replica has it (`replicas_to_wait`): a job
acknowledged to its producer survives the loss of the master.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
# How long an enqueue waits for a replica's acknowledgement before going on without one.
REPLICA_WAIT_MS = 500


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, int]:
    parts = urlsplit(url)
    hosts = []
    for item in parts.netloc.split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host or item, int(port) if host else 26379))
    service, _, db = parts.path.strip("/").partition("/")
    if not service:
        raise ValueError(f"a Sentinel URL names its service: {url!r}")
    return hosts, service, int(db or 0)


class SentinelRedis(Redis):
    """The master of a Sentinel service; closing it closes the clients of the sentinels too."""

    # Not `sentinel`: that name is the SENTINEL command on every client.
    sentinels_client: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels_client is not None:
            for client in self.sentinels_client.sentinels:
                await client.aclose()


def replicas_to_wait(redis: Redis) -> int:
    """How many replicas must hold a job before enqueue returns (0 without Sentinel)."""
    return 1 if isinstance(redis, SentinelRedis) else 0


def connect_redis(url: str, **options: Any) -> Redis:
    """A client for `url`; `options` are redis-py's connection options (timeouts, pool size)."""
    if not url.startswith(f"{SENTINEL_SCHEME}://"):
        return Redis.from_url(url, **options)
    hosts, service, db = parse_sentinel_url(url)
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout") if k in options}
    sentinel = Sentinel(hosts, sentinel_kwargs=timeouts)
    client: SentinelRedis = sentinel.master_for(
        service, redis_class=SentinelRedis, db=db, **options
    )
    client.sentinels_client = sentinel
    return client
