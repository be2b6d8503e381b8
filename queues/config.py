"""Per-stream settings and the names of the Redis keys that belong to a stream."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_GROUP = "workers"
DEFAULT_MAXLEN = 100_000
# Per-key ordering state lives this long after its last use: far longer than any retry chain.
KEY_STATE_TTL_S = 30 * 24 * 3600
# Counter buckets must outlive the longest window that stats reads (one hour).
COUNTER_TTL_S = 2 * 3600


@dataclass(frozen=True)
class StreamConfig:
    """How one stream is consumed: trimming, retries, reclaiming and key ordering."""

    name: str
    # XADD MAXLEN ~ cap. Acked entries are deleted, so this bounds the *backlog*: past it the
    # oldest unhandled entries are trimmed and lost. Keep it far above any expected backlog.
    maxlen: int = DEFAULT_MAXLEN
    # Deliveries (first try included) before an entry goes to `<stream>:dead`.
    max_deliveries: int = 5
    # The janitor reclaims entries idle this long. A live worker resets the idle time of the
    # entries it holds every heartbeat_s (a third of this), so a slow handler is not reclaimed;
    # a killed worker's entries run again after about min_idle_s plus the janitor's interval.
    min_idle_s: float = 15.0
    # Retry n waits about backoff_base_s * 2**(n-1), at most backoff_cap_s, with jitter.
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    # A key whose next job has waited this long for its predecessor is released (see ordering).
    # It must exceed min_idle_s plus the longest retry chain.
    key_stall_s: float = 600.0

    @property
    def heartbeat_s(self) -> float:
        return self.min_idle_s / 3

    def __post_init__(self) -> None:
        if self.max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        if self.min_idle_s <= 0 or self.backoff_base_s <= 0:
            raise ValueError("min_idle_s and backoff_base_s must be positive")
        if self.key_stall_s <= self.min_idle_s:
            raise ValueError("key_stall_s must exceed min_idle_s, or reclaims would break order")


@dataclass(frozen=True)
class StreamKeys:
    """Every Redis key of one stream, derived from its name.

    On Redis Cluster, name the stream with a hash tag (``{wx:inbound}``) so that these keys share
    its slot: the Lua scripts touch several of them at once.
    """

    stream: str

    @property
    def dead(self) -> str:
        return f"{self.stream}:dead"

    @property
    def delayed(self) -> str:
        # ZSET of retries waiting for their time, scored by due time (ms).
        return f"{self.stream}:delayed"

    @property
    def parked_index(self) -> str:
        # ZSET of ordering keys that have parked jobs, scored by when the head started waiting.
        return f"{self.stream}:parked"

    def key_state(self, key: str) -> str:
        # HASH {seq: last sequence number given out, done: last sequence finished}.
        return f"{self.stream}:key:{key}"

    def parked(self, key: str) -> str:
        # ZSET of one key's jobs waiting for an earlier one, scored by sequence number.
        return f"{self.stream}:parked:{key}"

    def counters(self, minute: int) -> str:
        return f"{self.stream}:stats:{minute}"


def as_config(stream: str | StreamConfig) -> StreamConfig:
    return stream if isinstance(stream, StreamConfig) else StreamConfig(stream)
