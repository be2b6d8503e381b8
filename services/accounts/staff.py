"""Staff accounts: creating them, and signing in with a password and a TOTP code.

Every attempt is counted before anything is checked (services.accounts.attempts), per account
name and per client IP, and a wrong name, password or code all get the same answer. A TOTP code
is accepted once: the account keeps the time step of the last code it took, and an update that
only succeeds for a later step claims it, so two sign-ins racing with one code cannot both win.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis

from config import clock
from models.catalogue import Department
from models.staff import DEPARTMENT_ROLES, HALL_ROLES, ROLE_LABELS, StaffAccount, StaffRole
from models.user import Operator
from services.accounts.attempts import Attempt, Limit
from services.accounts.operators import create_operator
from services.accounts.staff_passwords import (
    DUMMY_HASH,
    hash_password,
    password_matches_off_loop,
    password_problem,
)
from services.audit import append_audit
from services.errors import Conflict, InvalidRequest, ServiceError

NAMESPACE = "staff"
PER_ACCOUNT = 5
PER_IP = 20
WINDOW_S = 15 * 60
FIRST_LOCK_S = 15 * 60
ISSUER = "YuCredit 渝信"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
_CODE = re.compile(r"[0-9]{6}")


class StaffSignInFailed(ServiceError):
    """The name, the password or the TOTP code is wrong (which one is not said)."""

    status = 403
    code = "staff_sign_in_failed"
    message = "用户名、密码或动态验证码错误"


class StaffCodeReplayed(ServiceError):
    """The TOTP code was right but has been used already."""

    status = 403
    code = "staff_totp_replayed"
    message = "该动态验证码已使用过，请等待验证器显示新的验证码后再登录"


class StaffLocked(ServiceError):
    """Too many wrong attempts on this account or from this address."""

    status = 429
    code = "staff_locked"
    message = "登录失败次数过多，已暂时锁定，请稍后再试"


def _locked_for(retry_after_s: int) -> StaffLocked:
    minutes = max(1, -(-retry_after_s // 60))
    text = f"登录失败次数过多，已锁定，请于{minutes}分钟后再试"
    return StaffLocked(text, retry_after_s=retry_after_s)


@dataclass(frozen=True)
class StaffIdentity:
    """Who is signed in, and where they may act."""

    id: int
    username: str
    name: str
    role: StaffRole
    department_id: int | None
    department_code: str
    department_name: str
    hall: str | None

    @property
    def actor(self) -> str:
        """How the audit trail names this person."""
        return f"staff:{self.username}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


@dataclass(frozen=True)
class NewStaff:
    """A created account with its TOTP secret, which is shown this once."""

    identity: StaffIdentity
    totp_secret: str
    provisioning_uri: str


def _fernet(secret_key: str) -> Fernet:
    # A key of its own for TOTP secrets, derived so that the ID hash key never encrypts anything.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"yucredit staff totp")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())))


async def _identity(account: StaffAccount) -> StaffIdentity:
    department = await Department.get_or_none(id=account.department_id or 0)
    return StaffIdentity(
        account.id,
        account.username,
        account.name,
        StaffRole(account.role),
        account.department_id,
        department.code if department else "",
        department.name if department else "",
        account.hall,
    )


async def create_staff(
    secret_key: str,
    *,
    username: str,
    name: str,
    role: str,
    password: str,
    department_code: str | None = None,
    hall: str | None = None,
    created_by: str = "cli",
) -> NewStaff:
    """Create a person's account (audited); its TOTP secret is returned once, to enrol."""
    if not _USERNAME.fullmatch(username):
        raise InvalidRequest(
            "用户名须为 3-32 位小写字母、数字或 . _ -", code="staff_username_invalid"
        )
    if not name.strip() or len(name) > 32:
        raise InvalidRequest("姓名不能为空且不超过 32 字", code="staff_name_invalid")
    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise InvalidRequest("未知的角色", code="staff_role_invalid") from None
    problem = password_problem(password)
    if problem:
        raise InvalidRequest(problem, code="staff_password_weak")
    department = None
    if staff_role in DEPARTMENT_ROLES:
        department = await Department.get_or_none(code=department_code or "")
        if department is None:
            raise InvalidRequest("部门角色须指定已有的部门代码", code="staff_department_unknown")
    if staff_role in HALL_ROLES and not (hall or "").strip():
        raise InvalidRequest("服务大厅角色须指定所属大厅", code="staff_hall_required")
    if await StaffAccount.exists(username=username):
        raise Conflict("该用户名已存在", code="staff_username_taken")
    secret = pyotp.random_base32()
    window = (
        await _window(username, name.strip(), hall)
        if staff_role == StaffRole.WINDOW_OPERATOR
        else None
    )
    account = await StaffAccount.create(
        operator=window,
        username=username,
        name=name.strip(),
        role=staff_role,
        department=department,
        hall=hall.strip() if staff_role in HALL_ROLES and hall else None,
        password_hash=hash_password(password),
        totp_secret_encrypted=_fernet(secret_key).encrypt(secret.encode()).decode(),
    )
    await append_audit(created_by, "staff.created", "staff", str(account.id),
                       {"username": username, "role": staff_role.value})  # fmt: skip
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return NewStaff(await _identity(account), secret, uri)


async def _window(username: str, name: str, hall: str | None) -> Operator:
    """The window operator's own operator row (channel hall), which its reports name; its key is
    thrown away, so the window is reachable only through the person's sign-in."""
    new = await create_operator(f"{(hall or '').strip()[:30]}-{username.replace('.', '_')}", "hall")
    window = await Operator.get(id=new.id)
    window.display = f"{(hall or '').strip()}（{name}）"[:64]
    await window.save(update_fields=["display"])
    return window


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code `code` is (this one or a neighbour, for clock drift), or None."""
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in (now_step + 1, now_step, now_step - 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def sign_in(
    redis: Redis, secret_key: str, username: str, password: str, code: str, client_ip: str
) -> StaffIdentity:
    """The person whose name, password and unused TOTP code these are; StaffSignInFailed,
    StaffCodeReplayed or StaffLocked otherwise. Every outcome is audited."""
    subject = username.strip().lower()[:32]
    attempt = Attempt(redis, NAMESPACE, (
        Limit(f"account:{subject}", PER_ACCOUNT, WINDOW_S, FIRST_LOCK_S),
        Limit(f"ip:{client_ip}", PER_IP, WINDOW_S, FIRST_LOCK_S),
    ))  # fmt: skip
    refusal = await attempt.begin()
    if refusal is not None:
        raise _locked_for(refusal.retry_after_s)
    account = await StaffAccount.get_or_none(username=subject, disabled_at=None)
    stored = account.password_hash if account else DUMMY_HASH
    right = await password_matches_off_loop(password, stored)
    step = None
    if account is not None and right:
        secret = _fernet(secret_key).decrypt(account.totp_secret_encrypted.encode()).decode()
        step = matching_step(secret, code.strip(), clock.utc_now())
    if account is None or step is None:
        await _failed(attempt, subject, client_ip, "staff.sign_in_failed")
        raise StaffSignInFailed()
    claimed = await StaffAccount.filter(id=account.id, totp_last_step__lt=step).update(
        totp_last_step=step, last_login_at=clock.utc_now()
    )
    if not claimed:
        await _failed(attempt, subject, client_ip, "staff.totp_replayed")
        raise StaffCodeReplayed()
    await attempt.succeeded()
    identity = await _identity(account)
    await append_audit(identity.actor, "staff.signed_in", "staff", str(account.id),
                       {"ip": client_ip})  # fmt: skip
    return identity


async def _failed(attempt: Attempt, subject: str, client_ip: str, action: str) -> None:
    _, locks = await attempt.failed()
    await append_audit(f"ip:{client_ip}"[:64], action, "staff", subject, {})
    if locks:
        raise _locked_for(max(lock.retry_after_s for lock in locks))


async def staff_identity(staff_id: int) -> StaffIdentity | None:
    """The live account with this id (None once disabled or gone)."""
    account = await StaffAccount.get_or_none(id=staff_id, disabled_at=None)
    return await _identity(account) if account else None


async def disable_staff(username: str, by: str) -> bool:
    """Disable an account (audited); its sessions end at their next request."""
    account = await StaffAccount.get_or_none(username=username, disabled_at=None)
    if account is None:
        return False
    account.disabled_at = clock.utc_now()
    await account.save(update_fields=["disabled_at"])
    await append_audit(by, "staff.disabled", "staff", str(account.id), {"username": username})
    return True


async def list_staff() -> list[StaffIdentity]:
    """Every live account, by name."""
    accounts = await StaffAccount.filter(disabled_at=None).order_by("username")
    return [await _identity(a) for a in accounts]
