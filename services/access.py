"""Who may act for which enterprise: the one check every enterprise-facing route goes through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from config import clock
from models.enums import BindingRole
from models.user import Binding, Operator
from services.errors import Forbidden

SCOPES = ("reports", "objections")


@dataclass(frozen=True)
class Actor:
    """Who acts through a channel: an enterprise's user, or a service-hall operator."""

    user_id: int | None = None
    operator: Operator | None = None

    @property
    def name(self) -> str:
        """As the audit log names them."""
        if self.operator is not None:
            return f"operator:{self.operator.name}"
        return f"user:{self.user_id}"


@dataclass(frozen=True)
class Acting:
    """An enterprise the user may act for, in plain values."""

    enterprise_id: int
    name: str
    uscc: str


def binding_is_live(binding: Binding, now: datetime | None = None) -> bool:
    now = now or clock.utc_now()
    if binding.revoked_at is not None or binding.user_id is None:
        return False
    return binding.expires_at is None or binding.expires_at > now


def binding_allows(binding: Binding, scope: str, now: datetime | None = None) -> bool:
    """A live legal representative may do everything; an agent only what the scopes grant."""
    if not binding_is_live(binding, now):
        return False
    return binding.role == BindingRole.LEGAL_REPRESENTATIVE or scope in (binding.scopes or [])


async def live_bindings(user_id: int) -> list[Binding]:
    rows = await Binding.filter(user_id=user_id).prefetch_related("enterprise").order_by("id")
    now = clock.utc_now()
    return [b for b in rows if binding_is_live(b, now)]


async def enterprises_for(user_id: int, scope: str) -> tuple[list[Acting], bool]:
    """The enterprises the user may act for in `scope`, and whether the user is bound at all."""
    bindings = await live_bindings(user_id)
    allowed = [b for b in bindings if binding_allows(b, scope)]
    acting = [Acting(b.enterprise_id, b.enterprise.name, b.enterprise.uscc) for b in allowed]
    return acting, bool(bindings)


async def require_scope(user_id: int, enterprise_id: int, scope: str) -> Binding:
    """The user's binding to this enterprise if it grants `scope`, else Forbidden (403)."""
    binding = await Binding.get_or_none(user_id=user_id, enterprise_id=enterprise_id)
    if binding is None or not binding_allows(binding, scope):
        raise Forbidden("您未获得该企业的相应授权", code="not_authorised")
    return binding


def may_see_report(
    user_id: int,
    requester_id: int | None,
    enterprise_ids: Iterable[int],
    bindings: Mapping[int, Binding],
    now: datetime | None = None,
) -> bool:
    """A report is its requester's. Anyone else needs the reports scope for every enterprise in
    it, the related ones too (their records are in the PDF): `bindings` are the user's, by
    enterprise id."""
    if requester_id is not None and requester_id == user_id:
        return True
    now = now or clock.utc_now()
    return all(
        (b := bindings.get(eid)) is not None and binding_allows(b, "reports", now)
        for eid in enterprise_ids
    )


def report_enterprise_ids(enterprise_id: int, related_ids: Iterable[int] | None) -> list[int]:
    """Every enterprise whose records a report holds: its own, then the related ones."""
    return [enterprise_id, *(related_ids or [])]


async def require_report_access(
    user_id: int,
    requester_id: int | None,
    enterprise_ids: list[int],
    known: Mapping[int, Binding] | None = None,
) -> None:
    """Forbidden (403) unless the user may see the report (may_see_report); `known` are
    bindings already at hand, the others are read."""
    bindings = dict(known or {})
    missing = [eid for eid in enterprise_ids if eid not in bindings]
    if missing and requester_id != user_id:
        for b in await Binding.filter(user_id=user_id, enterprise_id__in=missing):
            bindings[b.enterprise_id] = b
    if not may_see_report(user_id, requester_id, enterprise_ids, bindings):
        raise Forbidden("您未获得该报告所含全部企业的报告授权", code="not_authorised")
