"""Department API keys managed by the department's own admins in the console: list, create
(the key shown once) and revoke, each audited with the person. Keys stay for machine pushes."""

from __future__ import annotations

from typing import Any

from config.calendar import CHINA
from models.department_key import DepartmentKey
from models.staff import StaffRole
from services.accounts.department_keys import NewKey, create_department_key, revoke_department_key
from services.accounts.staff import StaffIdentity
from services.audit import append_audit
from services.errors import Forbidden, InvalidRequest, NotFound

MAX_LABEL = 64


def _admin_of(who: StaffIdentity) -> str:
    """The department code of an admin; Forbidden for anyone else."""
    if who.role != StaffRole.DEPT_ADMIN or not who.department_code:
        raise Forbidden("只有部门管理员可以管理接口密钥", code="staff_not_key_admin")
    return who.department_code


def _when(moment: Any) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


async def department_keys(who: StaffIdentity) -> list[dict[str, Any]]:
    """The department's keys, live ones first: their visible prefix, label and dates."""
    code = _admin_of(who)
    rows = await DepartmentKey.filter(department__code=code).order_by("revoked_at", "-id")
    return [
        {"id": k.id, "display": k.display, "label": k.label, "created_at": _when(k.created_at),
         "revoked_at": _when(k.revoked_at)}
        for k in rows
    ]  # fmt: skip


async def issue_key(who: StaffIdentity, label: str) -> NewKey:
    """A new key for the admin's department; the caller shows it once."""
    code = _admin_of(who)
    label = label.strip()
    if not label or len(label) > MAX_LABEL:
        raise InvalidRequest(f"请填写密钥用途（不超过 {MAX_LABEL} 字）", code="key_label_invalid")
    new = await create_department_key(code, label)
    await append_audit(who.actor, "staff.dept_key.created", "department_key", str(new.id),
                       {"department": code, "display": new.display})  # fmt: skip
    return new


async def revoke_key(who: StaffIdentity, key_id: int) -> None:
    """Revoke one of the department's keys; another department's key is NotFound."""
    code = _admin_of(who)
    if not await DepartmentKey.exists(id=key_id, department__code=code):
        raise NotFound("未找到该密钥", code="unknown_key")
    await revoke_department_key(key_id)
    await append_audit(who.actor, "staff.dept_key.revoked", "department_key", str(key_id),
                       {"department": code})  # fmt: skip
