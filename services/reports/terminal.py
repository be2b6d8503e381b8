"""Self-service terminals (自助终端) in the service halls.

A terminal is an operator of channel `terminal` (`run.py operator create NAME --channel
terminal`). Its key is entered once on the kiosk (/terminal/setup); the kiosk then holds a random
device id (Redis keeps its SHA-256 for 30 days). An enterprise's visit is a second, short-lived
id: it names the report asked for, and it is gone after VISIT_IDLE_S without a request, so
nothing of a visit outlives the visitor. Requests go through the window's rules
(services.reports.hall_window.request_as_operator), recorded with channel `terminal` and the
terminal's name.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from config import clock
from config.settings import Settings
from models.enums import Channel
from models.user import Operator
from services.accounts.operators import authenticate_operator
from services.audit import append_audit
from services.errors import Forbidden, InvalidRequest
from services.reports.hall_window import request_as_operator
from services.reports.requests import report_for_operator
from services.reports.span import years_span

DEVICE_TTL_S = 30 * 24 * 60 * 60
VISIT_IDLE_S = 60
SPAN_YEARS = (1, 3, 5)


@dataclass(frozen=True)
class Kiosk:
    """A registered terminal: its operator and the CSRF token of its forms."""

    operator: Operator
    csrf: str


def _key(kind: str, token: str) -> str:
    return f"terminal:{kind}:" + hashlib.sha256(token.encode()).hexdigest()


async def register_terminal(redis: Redis, key: str) -> str:
    """A device id for the kiosk whose terminal key this is (audited); 403 for another key."""
    operator = await authenticate_operator(key.strip())
    if operator.channel != Channel.TERMINAL:
        raise Forbidden("该密钥不是自助终端的密钥", code="not_a_terminal")
    token = secrets.token_urlsafe(32)
    value = json.dumps({"operator_id": operator.id, "csrf": secrets.token_urlsafe(32)})
    await redis.set(_key("device", token), value, ex=DEVICE_TTL_S)
    await append_audit(f"operator:{operator.name}", "terminal.registered", "operator",
                       str(operator.id))  # fmt: skip
    return token


async def kiosk(redis: Redis, token: str) -> Kiosk | None:
    """The terminal this device id belongs to, while its key is live."""
    if not token or len(token) > 128:
        return None
    raw = await redis.get(_key("device", token))
    if raw is None:
        return None
    data = json.loads(raw)
    operator = await Operator.get_or_none(id=data["operator_id"], revoked_at=None)
    return Kiosk(operator, data["csrf"]) if operator else None


def visit_body(form: dict[str, str]) -> dict[str, Any]:
    """The request a visitor's form means: the enterprise, its consent, and the report."""
    years = int(form.get("years") or 3)
    if years not in SPAN_YEARS:
        raise InvalidRequest("请选择近1年、近3年或近5年", code="invalid_span")
    span = years_span(years, clock.today())
    if form.get("consent") == "agent_code":
        consent = {"agent_code": form.get("agent_code", "")}
    elif form.get("consent") == "agent":
        consent = {"agent_name": form.get("agent_name", ""),
                   "agent_phone": form.get("agent_phone", "")}  # fmt: skip
    else:
        consent = {"legal_rep_id_number": form.get("id_number", "")}
    return {"uscc": form.get("uscc", ""), "consent": consent, "domains": "all",
            "from": span.start.isoformat(), "to": span.end.isoformat(),
            "purpose": form.get("purpose") or "listing"}  # fmt: skip


async def start_visit(redis: Redis, terminal: Kiosk, body: dict[str, Any], client_ip: str) -> str:
    """Ask for the report on the visitor's consent; a visit id naming it."""
    asked = await request_as_operator(redis, terminal.operator, body, client_ip)
    token = secrets.token_urlsafe(32)
    await redis.set(_key("visit", token), json.dumps({"report_id": asked["id"]}), ex=VISIT_IDLE_S)
    return token


async def visit_report(
    redis: Redis, settings: Settings, terminal: Kiosk, token: str
) -> dict[str, Any] | None:
    """The visit's report as the terminal may show it, the visit slid forward; None once it
    ended or went idle."""
    if not token or len(token) > 128:
        return None
    raw = await redis.getex(_key("visit", token), ex=VISIT_IDLE_S)
    if raw is None:
        return None
    return await report_for_operator(settings, terminal.operator, json.loads(raw)["report_id"])


async def end_visit(redis: Redis, token: str) -> None:
    if token:
        await redis.delete(_key("visit", token))
