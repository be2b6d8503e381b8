"""Job queues on Redis Streams with consumer groups.

Contract
--------
Delivery is **at least once**. A handler's entry is acked only after the handler returned, so a
worker that dies mid-job (or after committing but before its ack reached Redis) loses nothing:
the janitor of a live worker reclaims the entry with XAUTOCLAIM once it has been idle for the
stream's ``min_idle_s``, and it runs again. Every handler must therefore be idempotent, keyed on
``ctx.job_id`` (the entry id of the first enqueue, stable across retries, reclaims, requeues).

Retries
-------
A failed try acks its entry and, in the same atomic script, adds the job to the ZSET
``<stream>:delayed`` scored by its due time (exponential backoff with equal jitter, capped). A
mover in every worker puts due jobs back on the stream, atomically, so each moves once. Chosen
over re-adding with a ``not_before`` field because a not-yet-due entry would have to be read,
held or re-added again and again by the consumers (busy work, and it blocks a handler slot); the
ZSET costs nothing while waiting and ops can count scheduled retries with ZCARD. The number of
deliveries so far travels in the envelope (``attempts``), plus the group's delivery count of the
current entry, so a job that kills its worker is also counted. After ``max_deliveries`` the job
goes to ``<stream>:dead`` with its last error and a traceback summary.

Ordering keys
-------------
``enqueue(..., key=openid)`` gives the job the next sequence number of that key, in the same
script as its XADD (so sequence order is stream order). Any worker may read it; before running,
an atomic gate checks the key's ``done`` mark: job n runs only once job n-1 is finished, or else
it is *parked* in a per-key ZSET and acked. Finishing job n (ack, or dead letter) advances
``done`` and puts the parked job n+1 back on the stream in the same script. So, across any
number of workers and processes, one key's jobs run one at a time and in enqueue order, while
other keys are not held up (no partitions, no head-of-line blocking between keys).

Guarantees for retries and dead letters: a failing job keeps its key while it is retried, so
later jobs of that key wait until it succeeds or becomes a dead letter. A dead letter releases
its key (the conversation goes on); requeueing it appends it at the end of the key's order. If a
key's next job has waited longer than ``key_stall_s`` (its predecessor was lost: trimmed by
MAXLEN, or Redis lost data), the janitor releases the key and logs it. A worker heartbeats the
entries it holds (every third of ``min_idle_s``), so a slow handler is not run a second time;
"one at a time" assumes that a live worker reaches Redis at least once per ``min_idle_s``.

Redis outages
-------------
Every worker loop catches connection errors and waits with capped exponential backoff (0.1 s to
5 s); a vanished stream or group (Redis restarted empty) is recreated with MKSTREAM from id 0.
"""

from queues.config import DEFAULT_GROUP, DEFAULT_MAXLEN, StreamConfig, StreamKeys
from queues.dead import (
    DeadLetter,
    count_dead,
    drop_dead,
    list_dead,
    requeue_all_dead,
    requeue_dead,
)
from queues.producer import enqueue
from queues.registry import Handler, JobContext, Registry, UnknownJob
from queues.stats import ConsumerInfo, Counters, StreamStats, counters, stream_stats
from queues.worker import Worker, run_worker, run_worker_process, worker_redis

__all__ = [
    "DEFAULT_GROUP",
    "DEFAULT_MAXLEN",
    "ConsumerInfo",
    "Counters",
    "DeadLetter",
    "Handler",
    "JobContext",
    "Registry",
    "StreamConfig",
    "StreamKeys",
    "StreamStats",
    "UnknownJob",
    "Worker",
    "count_dead",
    "counters",
    "drop_dead",
    "enqueue",
    "list_dead",
    "requeue_all_dead",
    "requeue_dead",
    "run_worker",
    "run_worker_process",
    "stream_stats",
    "worker_redis",
]
