"""Who may act for which enterprise: the one check every enterprise-facing route goes through."""

from __future__ import annotations

from datetime import datetime

from config import clock
from models.enums import BindingRole
from models.user import Binding
from services.errors import Forbidden

SCOPES = ("reports", "objections")


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


async def require_scope(user_id: int, enterprise_id: int, scope: str) -> Binding:
    """The user's binding to this enterprise if it grants `scope`, else Forbidden (403)."""
    binding = await Binding.get_or_none(user_id=user_id, enterprise_id=enterprise_id)
    if binding is None or not binding_allows(binding, scope):
        raise Forbidden("您未获得该企业的相应授权", code="not_authorised")
    return binding
