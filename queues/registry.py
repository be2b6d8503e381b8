"""Job handlers, registered by name on a Registry that the worker is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis


@dataclass(frozen=True)
class JobContext:
    """What a handler knows besides its payload."""

    redis: Redis
    settings: Any  # whatever the worker was started with (Settings, or a dict in tests)
    stream: str
    job: str
    job_id: str  # stable across retries, reclaims and requeues: use it as the idempotency key
    entry_id: str  # this delivery's stream entry
    delivery: int  # 1 on the first try; counts retries and reclaims from dead workers
    key: str | None  # the ordering key, if the job has one


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


class UnknownJob(LookupError):
    """No handler is registered under the job's name (a newer producer, or a typo)."""


class Registry:
    """Handlers by job name.

    Delivery is at least once: a handler may run twice for one job (its worker died after the
    effects were committed but before the ack). Every handler must therefore be idempotent,
    keyed on ``ctx.job_id`` or on a natural key of the payload.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def job(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@registry.job("render_report")``."""

        def register(handler: Handler) -> Handler:
            self.add(name, handler)
            return handler

        return register

    def add(self, name: str, handler: Handler) -> None:
        if name in self._handlers:
            raise ValueError(f"job {name!r} is already registered")
        self._handlers[name] = handler

    def get(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            raise UnknownJob(f"no handler registered for job {name!r}") from None

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)
