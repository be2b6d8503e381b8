"""The Prometheus registry of one application."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AppMetrics:
    """One registry per application, so that tests and several apps never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "yucredit_http_requests",
            "HTTP requests by route, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "yucredit_http_request_seconds",
            "HTTP request latency by route",
            ("route", "method"),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        # Queue figures live in Redis (shared by every process): they are read at scrape time.
        self.queue = {
            name: Gauge(f"yucredit_queue_{name}", help_, ("stream",), registry=self.registry)
            for name, help_ in QUEUE_GAUGES.items()
        }
        self.queue_window = Gauge(
            "yucredit_queue_events",
            "Queue events in a sliding window (processed, failed, retried, dead)",
            ("stream", "event", "window"),
            registry=self.registry,
        )

    def set_queue_figures(self, streams: list[dict[str, Any]]) -> None:
        for s in streams:
            figures = {
                "depth": s["depth"],
                "pending": s["pending"],
                "lag": s["lag"] if s["lag"] is not None else float("nan"),
                "oldest_pending_age_seconds": s["oldest_pending_age_s"] or 0.0,
                "dead_letters": s["dead"],
                "scheduled_retries": s["scheduled_retries"],
                "consumers": len(s["consumers"]),
            }
            for name, value in figures.items():
                self.queue[name].labels(s["stream"]).set(value)
            for window, counts in (("1m", s["last_minute"]), ("1h", s["last_hour"])):
                for event, value in counts.items():
                    self.queue_window.labels(s["stream"], event, window).set(value)


QUEUE_GAUGES = {
    "depth": "Entries in the stream (unhandled plus in progress)",
    "pending": "Entries delivered and not yet acknowledged",
    "lag": "Entries never delivered to the consumer group",
    "oldest_pending_age_seconds": "Age of the oldest unacknowledged entry",
    "dead_letters": "Entries in the dead-letter stream",
    "scheduled_retries": "Failed entries waiting for their retry time",
    "consumers": "Consumers registered in the group",
}
