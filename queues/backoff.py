"""Exponential backoff with jitter, for job retries and for reconnecting to Redis."""

from __future__ import annotations

import asyncio
import random
from collections import deque


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before try `attempt + 1`, after `attempt` failures (attempt >= 1).

    "Equal jitter": half the exponential step is fixed and half random. Retries of many jobs that
    failed together spread out, yet every retry waits at least half its step.
    """
    step = min(cap, base * 2 ** max(0, attempt - 1))
    return step / 2 + (rng or random).random() * step / 2


class Reconnector:
    """Paces one loop's retries while Redis is unreachable: no busy loop, no crash loop."""

    def __init__(self, first: float = 0.1, cap: float = 5.0, rng: random.Random | None = None):
        self.first = first
        self.cap = cap
        self.rng = rng
        self.failures = 0  # consecutive, reset by the first success
        self.total = 0
        self.delays: deque[float] = deque(maxlen=64)  # recent waits, for tests and ops

    async def wait(self) -> None:
        self.failures += 1
        self.total += 1
        delay = backoff_delay(self.failures, self.first, self.cap, self.rng)
        self.delays.append(delay)
        await asyncio.sleep(delay)

    def reset(self) -> None:
        self.failures = 0
