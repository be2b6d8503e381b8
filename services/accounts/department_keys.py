"""Department identities (出证机关): API keys, kept as hashes, several per department, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from config import clock
from config.catalogue import domains_of_department
from models.catalogue import Department
from models.department_key import DepartmentKey
from services.errors import Forbidden, NotFound, Unauthorized

KEY_PREFIX = "yc_"
_DISPLAY_RANDOM_CHARS = 4


@dataclass(frozen=True)
class DepartmentIdentity:
    """The department a request acts for, as established by its key, or by the sign-in of one
    of its staff (`staff`, their sign-in name)."""

    id: int
    code: str
    name: str
    domains: frozenset[int]  # the domain numbers it may push records for
    key_id: int | None = None
    staff: str | None = None

    @property
    def actor(self) -> str:
        """How a ticket's events and the audit trail name who acted: the department, and the
        person when a person acted."""
        return f"dept:{self.code}/staff:{self.staff}" if self.staff else f"dept:{self.code}"


@dataclass(frozen=True)
class NewKey:
    id: int
    department: str
    key: str  # shown once, never stored
    display: str


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


async def department_by_code(code: str) -> DepartmentIdentity:
    """The department with this code, or NotFound."""
    department = await Department.get_or_none(code=code)
    if department is None:
        raise NotFound(f"未找到部门代码 {code}", code="unknown_department")
    return _identity(department)


async def create_department_key(code: str, label: str = "") -> NewKey:
    """A new key for a department, like yc_samr_<40 random characters>; only its hash is kept."""
    department = await Department.get_or_none(code=code)
    if department is None:
        raise NotFound(f"未找到部门代码 {code}", code="unknown_department")
    key = f"{KEY_PREFIX}{code}_{secrets.token_urlsafe(30)}"
    display = key[: len(KEY_PREFIX) + len(code) + 1 + _DISPLAY_RANDOM_CHARS]
    row = await DepartmentKey.create(
        department=department, key_hash=hash_key(key), display=display, label=label
    )
    return NewKey(row.id, code, key, display)


async def revoke_department_key(key_id: int) -> DepartmentKey:
    """Revoke a key by its id: requests with it are refused from now on."""
    row = await DepartmentKey.get_or_none(id=key_id)
    if row is None:
        raise NotFound("未找到该密钥", code="unknown_key")
    if row.revoked_at is None:
        row.revoked_at = clock.utc_now()
        await row.save(update_fields=["revoked_at"])
    return row


async def authenticate_department(key: str) -> DepartmentIdentity:
    """The department whose live key this is; Unauthorized without a key, Forbidden otherwise."""
    if not key:
        raise Unauthorized(
            "请在请求头 Authorization: Bearer <密钥> 中提供部门接口密钥",
            code="dept_key_required",
        )
    # Looked up by hash: the key's own characters never reach a query or a log.
    row = (
        await DepartmentKey.filter(key_hash=hash_key(key), revoked_at__isnull=True)
        .select_related("department")
        .first()
    )
    if row is None:
        raise Forbidden("部门接口密钥无效或已吊销", code="dept_key_invalid")
    return _identity(row.department, row.id)


def ensure_same_department(caller: DepartmentIdentity, code: str | None) -> None:
    """Forbid a department from reading another department's data."""
    if code is not None and code != caller.code:  # an empty code is no code of its own
        raise Forbidden("只能查看本部门的数据", code="dept_mismatch")


def _identity(department: Department, key_id: int | None = None) -> DepartmentIdentity:
    return DepartmentIdentity(
        id=department.id,
        code=department.code,
        name=department.name,
        domains=frozenset(domains_of_department(department.code)),
        key_id=key_id,
    )
