"""Logging with a request id on every line."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request (or job) being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def setup_logging(level: str = "INFO", filters: tuple[logging.Filter, ...] = ()) -> None:
    """Log to stderr with request ids; `filters` (e.g. masking) see every line first."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    for extra in filters:
        handler.addFilter(extra)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log repeats what the middleware logs.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
