"""Binding (绑定): a user proves they act for an enterprise, as its legal representative
(法定代表人) or as an agent (经办人) the legal representative authorised.

The legal representative's ID number is only compared with the enterprise's keyed hash; it is never
stored or logged. An agent's phone number is stored Fernet-encrypted and shown masked. Wrong details
count towards a lockout shared by binding and redeeming agent codes (services.accounts.lockout: per
user, per enterprise and per client IP, counted before the check), and a success in between does not
reset the count (else a user could guess at one enterprise between bindings to another).

The keys come from settings: `configure(settings)` runs once per process (app start-up and the
workers' registry), so that callers such as the bot need not pass them.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

from config import clock
from config.calendar import CHINA
from config.settings import Settings
from models.enterprise import Enterprise
from models.enums import BindingRole, Channel
from models.user import Binding
from services.access import SCOPES, binding_is_live, live_bindings
from services.accounts import lockout
from services.accounts.lockout import BindingFailed
from services.audit import append_audit
from services.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unprocessable
from services.identity import id_number_matches, normalise_uscc
from services.masking import mask_phone
from services.ratelimit import check_rate

MAX_AGENT_TERM = timedelta(days=366)
INVITES_PER_HOUR = 20
# Agent codes are typed by hand (also into the bot): unambiguous capitals and digits, 60 bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
_MOBILE = re.compile(r"1[3-9]\d{9}")
BIND_MISMATCH = "企业信息或法定代表人身份信息核验未通过，请核对后重试"
CODE_MISMATCH = "授权码无效、已使用、已撤销或已过期"


# --- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BindingKeys:
    id_hash_key: str
    fernet: Fernet


_configured: dict[str, BindingKeys] = {}


def keys_from(settings: Settings) -> BindingKeys:
    """The keys for ID hashes, agent codes and phone encryption, from settings."""
    if not settings.id_hash_key:
        raise RuntimeError("ID_HASH_KEY is not set: refusing to check ID numbers without a key")
    fernet_key = settings.phone_encryption_key or _derived_fernet_key(settings.id_hash_key)
    return BindingKeys(settings.id_hash_key, Fernet(fernet_key))


def _derived_fernet_key(secret: str) -> bytes:
    # A key of its own for phone numbers, derived so that a deployment without
    # PHONE_ENCRYPTION_KEY still never encrypts with the ID hash key itself.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"yucredit agent phone")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def configure(settings: Settings) -> None:
    """Make the keys of these settings the process's (called once per process)."""
    _configured["keys"] = keys_from(settings)


def _keys() -> BindingKeys:
    try:
        return _configured["keys"]
    except KeyError:
        raise RuntimeError(
            "services.accounts.bindings.configure(settings) was not called"
        ) from None


def invite_code_hash(code: str, keys: BindingKeys | None = None) -> str:
    key = (keys or _keys()).id_hash_key
    return hmac.new(key.encode(), b"agent-invite:" + code.encode(), sha256).hexdigest()


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def decrypt_phone(binding: Binding) -> str:
    if not binding.agent_phone_encrypted:
        return ""
    try:
        return _keys().fernet.decrypt(binding.agent_phone_encrypted.encode()).decode()
    except InvalidToken:
        return ""


# --- checks ----------------------------------------------------------------------------------


def same_name(given: str, stored: str) -> bool:
    """Names compared as people type them: full-width brackets and spaces do not matter."""

    def norm(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))

    return bool(given) and norm(given) == norm(stored)


def _text(value: Any, field: str, label: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:  # absent is a malformed request; spaces only, text a rule refuses
        error = Unprocessable if isinstance(value, str) and value else InvalidRequest
        raise error(f"请填写{label}", code="missing_field", field=field)
    if len(text) > max_length:
        raise InvalidRequest(f"{label}过长", code="field_too_long", field=field)
    return text


async def enterprise_consents(
    uscc: str, enterprise_name: str | None, legal_rep_name: str | None, id_number: str
) -> Enterprise | None:
    """The enterprise if the details match it (names only when given) and the ID number
    matches its keyed hash; else None. The hash is computed either way."""
    keys = _keys()
    enterprise = await Enterprise.get_or_none(uscc=uscc)
    stored = enterprise.legal_rep_id_hash if enterprise else "0" * 64
    id_ok = id_number_matches(keys.id_hash_key, id_number, stored)
    if enterprise is None or not id_ok:
        return None
    if enterprise_name is not None and not same_name(enterprise_name, enterprise.name):
        return None
    if legal_rep_name is not None and not same_name(legal_rep_name, enterprise.legal_rep_name):
        return None
    return enterprise


async def _legal_representative_of(user_id: int, enterprise_id: int) -> Binding:
    binding = await Binding.get_or_none(user_id=user_id, enterprise_id=enterprise_id)
    if (
        binding is None
        or binding.role != BindingRole.LEGAL_REPRESENTATIVE
        or not binding_is_live(binding)
    ):
        raise Forbidden("只有已绑定的法定代表人可以管理经办人授权", code="not_legal_representative")
    return binding


# --- binding as legal representative ---------------------------------------------------------


async def bind_legal_representative(
    redis: Redis,
    user_id: int,
    uscc: str,
    enterprise_name: str,
    legal_rep_name: str,
    id_number: str,
    *,
    channel: str = Channel.MINIPROGRAM.value,
    client_ip: str | None = None,
) -> Binding:
    """Bind the user to the enterprise as its legal representative, if the details match."""
    uscc = normalise_uscc(uscc)
    enterprise_name = _text(enterprise_name, "enterprise_name", "企业名称", 128)
    legal_rep_name = _text(legal_rep_name, "legal_rep_name", "法定代表人姓名", 64)
    id_number = _text(id_number, "id_number", "法定代表人身份证号码", 32)
    subject = f"user:{user_id}"
    attempt = await lockout.begin(redis, lockout.limits(subject, uscc, client_ip))
    enterprise = await enterprise_consents(uscc, enterprise_name, legal_rep_name, id_number)
    if enterprise is None:
        await lockout.fail(attempt, {"uscc": uscc, "channel": channel}, BIND_MISMATCH)
    await attempt.succeeded()
    fields = {
        "role": BindingRole.LEGAL_REPRESENTATIVE,
        "scopes": list(SCOPES),
        "revoked_at": None,
        "expires_at": None,
        "agent_name": None,
        "agent_phone_encrypted": None,
        "granted_by_id": None,
    }
    binding = await Binding.get_or_none(user_id=user_id, enterprise_id=enterprise.id)
    if binding is None:
        try:
            binding = await Binding.create(user_id=user_id, enterprise=enterprise, **fields)
        except IntegrityError:  # the same user binding twice at once
            binding = await Binding.get(user_id=user_id, enterprise_id=enterprise.id)
    else:
        binding.update_from_dict(fields)
        await binding.save()
    detail = {"uscc": uscc, "role": "legal_representative", "channel": channel}
    await append_audit(subject, "binding.created", "binding", str(binding.id), detail)
    return binding


# --- agents ----------------------------------------------------------------------------------


def _check_scopes(scopes: Any) -> list[str]:
    if not isinstance(scopes, list) or not scopes:
        raise InvalidRequest("请选择授权范围：报告（reports）、异议（objections）",
                             code="invalid_scopes")  # fmt: skip
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise InvalidRequest(f"未知的授权范围：{unknown[0]}", code="invalid_scopes")
    return [s for s in SCOPES if s in scopes]


def _check_expiry(expires_at: datetime) -> datetime:
    if not isinstance(expires_at, datetime):
        raise InvalidRequest("请填写授权截止时间", code="invalid_expiry")
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=CHINA)  # what a user in Chongqing means
    now = clock.utc_now()
    if expires_at <= now:
        raise Unprocessable("授权截止时间应晚于当前时间", code="invalid_expiry")
    if expires_at > now + MAX_AGENT_TERM:
        raise Unprocessable("授权期限最长一年", code="invalid_expiry")
    return expires_at


def _check_phone(phone: Any) -> str:
    text = re.sub(r"[\s-]", "", phone) if isinstance(phone, str) else ""
    if not _MOBILE.fullmatch(text):
        raise InvalidRequest("经办人手机号码格式有误，应为11位手机号", code="invalid_phone")
    return text


def new_agent_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def create_agent_invite(
    redis: Redis,
    granting_user_id: int,
    enterprise_id: int,
    agent_name: str,
    agent_phone: str,
    scopes: list[str],
    expires_at: datetime,
) -> tuple[Binding, str]:
    """The legal representative authorises an agent: a pending binding and its one-time code."""
    await _legal_representative_of(granting_user_id, enterprise_id)
    agent_name = _text(agent_name, "agent_name", "经办人姓名", 64)
    phone = _check_phone(agent_phone)
    scopes = _check_scopes(scopes)
    expires_at = _check_expiry(expires_at)
    await check_rate(redis, f"agent-invite:{granting_user_id}", INVITES_PER_HOUR, 3600)
    keys = _keys()
    code = new_agent_code()
    binding = await Binding.create(
        user_id=None,
        enterprise_id=enterprise_id,
        role=BindingRole.AGENT,
        scopes=scopes,
        agent_name=agent_name,
        agent_phone_encrypted=keys.fernet.encrypt(phone.encode()).decode(),
        granted_by_id=granting_user_id,
        expires_at=expires_at,
        invite_code_hash=invite_code_hash(code, keys),
    )
    await append_audit(f"user:{granting_user_id}", "agent.authorised", "binding", str(binding.id),
                       {"enterprise_id": enterprise_id, "scopes": scopes,
                        "agent_phone": mask_phone(phone),
                        "expires_at": expires_at.isoformat()})  # fmt: skip
    return binding, code


async def _standing_invite(code: Any) -> Binding | None:
    """The agent authorisation this code was issued for, unless revoked or expired."""
    normalised = normalise_code(code if isinstance(code, str) else "")
    if len(normalised) != CODE_LENGTH:
        return None
    binding = await Binding.get_or_none(invite_code_hash=invite_code_hash(normalised))
    if binding is None or binding.revoked_at is not None:
        return None
    if binding.expires_at is not None and binding.expires_at <= clock.utc_now():
        return None
    return binding


async def agent_code_consents(enterprise_id: int, code: Any) -> bool:
    """Whether an agent code shown at a window or terminal authorises reports for the
    enterprise: the legal representative's authorisation with the reports scope, standing,
    redeemed in the mini-program or not (the code is the secret the representative handed
    over; showing it redeems nothing). The caller counts the attempt (services.accounts.lockout)."""
    binding = await _standing_invite(code)
    return (
        binding is not None
        and binding.enterprise_id == enterprise_id
        and binding.role == BindingRole.AGENT
        and "reports" in (binding.scopes or [])
    )


async def redeem_agent_invite(
    redis: Redis,
    user_id: int,
    code: str,
    *,
    channel: str = Channel.MINIPROGRAM.value,
    client_ip: str | None = None,
) -> Binding:
    """The agent redeems the code the legal representative passed on: the binding becomes theirs."""
    subject = f"user:{user_id}"
    attempt = await lockout.begin(redis, lockout.limits(subject, ip=client_ip))
    binding = await _standing_invite(code)
    if binding is None or binding.redeemed_at is not None:
        await lockout.fail(attempt, {"action": "redeem", "channel": channel}, CODE_MISMATCH)
    await attempt.succeeded()
    existing = await Binding.get_or_none(user_id=user_id, enterprise_id=binding.enterprise_id)
    if existing is not None:
        if binding_is_live(existing):
            raise Conflict("您已绑定该企业，无需再次领取授权", code="already_bound")
        await existing.delete()  # a revoked or expired earlier binding; the audit keeps its story
    now = clock.utc_now()
    try:
        taken = await Binding.filter(id=binding.id, redeemed_at=None).update(
            user_id=user_id, redeemed_at=now
        )
    except IntegrityError:
        raise Conflict("您已绑定该企业，无需再次领取授权", code="already_bound") from None
    if not taken:  # someone redeemed it a moment ago (a race, not a guess: not counted)
        raise BindingFailed(CODE_MISMATCH)
    await binding.refresh_from_db()
    detail = {"enterprise_id": binding.enterprise_id, "channel": channel}
    await append_audit(subject, "agent.redeemed", "binding", str(binding.id), detail)
    return binding


async def revoke_agent(user_id: int, binding_id: int) -> Binding:
    """The legal representative withdraws an agent's authorisation (redeemed or not)."""
    binding = await Binding.get_or_none(id=binding_id)
    if binding is None or binding.role != BindingRole.AGENT:
        raise NotFound("未找到该经办人授权", code="agent_not_found")
    await _legal_representative_of(user_id, binding.enterprise_id)
    if binding.revoked_at is None:
        binding.revoked_at = clock.utc_now()
        await binding.save(update_fields=["revoked_at"])
        await append_audit(f"user:{user_id}", "agent.revoked", "binding", str(binding.id),
                           {"enterprise_id": binding.enterprise_id})  # fmt: skip
    return binding


# --- what the user sees ----------------------------------------------------------------------


def agent_status(binding: Binding, now: datetime | None = None) -> str:
    now = now or clock.utc_now()
    if binding.revoked_at is not None:
        return "revoked"
    if binding.expires_at is not None and binding.expires_at <= now:
        return "expired"
    return "pending" if binding.user_id is None else "active"


AGENT_STATUS_LABELS = {"pending": "待经办人领取", "active": "已生效", "revoked": "已撤销",
                       "expired": "已过期"}  # fmt: skip


def describe_agent(binding: Binding) -> dict[str, Any]:
    """An agent authorisation as its legal representative sees it: phone masked."""
    status = agent_status(binding)
    return {
        "id": binding.id,
        "name": binding.agent_name,
        "phone": mask_phone(decrypt_phone(binding)),
        "scopes": binding.scopes,
        "expires_at": binding.expires_at.isoformat() if binding.expires_at else None,
        "status": status,
        "status_label": AGENT_STATUS_LABELS[status],
    }


def describe_binding(binding: Binding, enterprise: Enterprise) -> dict[str, Any]:
    role = BindingRole(binding.role)
    return {
        "id": binding.id,
        "enterprise": {"id": enterprise.id, "uscc": enterprise.uscc, "name": enterprise.name},
        "role": role.value,
        "role_label": role.label,
        "scopes": binding.scopes,
        "expires_at": binding.expires_at.isoformat() if binding.expires_at else None,
    }


async def bindings_overview(user_id: int, with_agents: bool = True) -> list[dict[str, Any]]:
    """The enterprises the user may act for; for a legal representative, also their agents
    (unless with_agents is False: a page that only names the enterprises saves the queries)."""
    out = []
    for binding in await live_bindings(user_id):
        view = describe_binding(binding, binding.enterprise)
        if with_agents and binding.role == BindingRole.LEGAL_REPRESENTATIVE:
            agents = await Binding.filter(
                enterprise_id=binding.enterprise_id, role=BindingRole.AGENT
            ).order_by("id")
            view["agents"] = [describe_agent(a) for a in agents]
        out.append(view)
    return out


async def enterprise_to_bind(user_id: int, uscc: str) -> dict[str, Any] | None:
    """The enterprise a user names by its USCC before binding (its name, to be confirmed), and
    whether the user is bound to it already; None when no enterprise has that code."""
    enterprise = await Enterprise.get_or_none(uscc=normalise_uscc(uscc))
    if enterprise is None:
        return None
    bound = any(b.enterprise_id == enterprise.id for b in await live_bindings(user_id))
    return {"uscc": enterprise.uscc, "name": enterprise.name, "bound": bound}


# --- the mini-program's requests -------------------------------------------------------------


def parse_expiry(value: Any) -> datetime:
    """An ISO date (the authorisation lasts to the end of that day, Beijing time) or date-time.
    Not text: 400; text that is neither: 422 (the document says only "text")."""
    error = Unprocessable if isinstance(value, str) else InvalidRequest
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                day = datetime.fromisoformat(text)
                return day.replace(hour=23, minute=59, second=59, tzinfo=CHINA)
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise error("授权截止时间格式有误，请使用“年-月-日”，例如 2027-06-30", code="invalid_expiry")


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


async def bind_from_body(
    redis: Redis,
    user_id: int,
    body: dict[str, Any],
    client_ip: str | None = None,
    channel: str = Channel.MINIPROGRAM.value,
) -> dict[str, Any]:
    binding = await bind_legal_representative(
        redis, user_id, _field(body, "uscc"), _field(body, "enterprise_name"),
        _field(body, "legal_rep_name"), _field(body, "id_number"), client_ip=client_ip,
        channel=channel,
    )  # fmt: skip
    return describe_binding(binding, await Enterprise.get(id=binding.enterprise_id))


async def invite_from_body(redis: Redis, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    enterprise = await Enterprise.get_or_none(uscc=normalise_uscc(_field(body, "uscc")))
    if enterprise is None:
        raise Forbidden("只有已绑定的法定代表人可以管理经办人授权", code="not_legal_representative")
    binding, code = await create_agent_invite(
        redis, user_id, enterprise.id, _field(body, "name"), _field(body, "phone"),
        body.get("scopes"), parse_expiry(body.get("expires_at")),
    )  # fmt: skip
    return {
        "agent": describe_agent(binding),
        "code": code,
        "message": "请将授权码告知经办人：可在小程序、公众号或网页端领取，"
        "也可在服务大厅窗口或自助终端办理时出示；授权码只显示这一次",
    }


async def redeem_from_body(
    redis: Redis,
    user_id: int,
    body: dict[str, Any],
    client_ip: str | None = None,
    channel: str = Channel.MINIPROGRAM.value,
) -> dict[str, Any]:
    binding = await redeem_agent_invite(
        redis, user_id, _field(body, "code"), channel=channel, client_ip=client_ip
    )
    return describe_binding(binding, await Enterprise.get(id=binding.enterprise_id))
