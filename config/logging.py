"""Logging with a request id on every line, and no line an outsider can forge."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators: a value that
# carries one of them (a URL path, a header, a user's text) could start a line of its own.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_control(text: str) -> str:
    """`text` with every control character written as an escape (\\n, \\x1b, \\u2028)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request (or job) being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RewritingFilter(logging.Filter):
    """Rewrites every record's message (arguments filled in) with `rewrite`."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        super().__init__()
        self.rewrite = rewrite

    def filter(self, record: logging.LogRecord) -> bool:
        # Kept formatted: the next filter and the formatter then need not fill the arguments in
        # again (every request logs a line, so this is on the hot path).
        record.msg, record.args = self.rewrite(record.getMessage()), None
        return True


def setup_logging(level: str = "INFO", filters: tuple[logging.Filter, ...] = ()) -> None:
    """Log to stderr with request ids; `filters` (e.g. masking) see every line first."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    for extra in filters:
        handler.addFilter(extra)
    # Last: one record is one line (only a traceback, added by the formatter, spans lines).
    handler.addFilter(RewritingFilter(escape_control))
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The format names neither the calling line nor the thread or process: not looking them up
    # for each record is the logging HOWTO's own optimisation.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # aiohttp's access log repeats what the middleware logs.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
