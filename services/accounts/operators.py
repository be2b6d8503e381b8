"""Operators: service-hall windows (窗口) and self-service terminals (自助终端).

An operator authenticates with a key of its own (only its SHA-256 is stored). The enterprise's
consent is checked the way a window clerk would: the USCC plus the legal representative's ID
number, or an agent's authorisation with the reports scope: the agent code the legal
representative issued, or the agent's name and phone number matching a redeemed agent binding.
Wrong details count towards the same lockout as binding.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from models.enterprise import Enterprise
from models.enums import BindingRole, Channel
from models.user import Binding, Operator
from services.access import binding_allows
from services.accounts import lockout
from services.accounts.bindings import (
    agent_code_consents,
    decrypt_phone,
    enterprise_consents,
    same_name,
)
from services.errors import Conflict, Forbidden, InvalidRequest, Unauthorized
from services.identity import normalise_uscc

CONSENT_MISMATCH = "企业授权核验未通过：身份证号码或经办人信息与登记不符"
CONSENT_REQUIRED = "请提供企业授权信息：法定代表人身份证号码、经办人授权码，或经办人姓名和手机号码"
OPERATOR_CHANNELS = (Channel.HALL.value, Channel.TERMINAL.value)
KEY_PREFIX = "op_"
_NAME = re.compile(r"[\w\-\u4e00-\u9fff]{1,64}")


@dataclass(frozen=True)
class NewOperator:
    id: int
    name: str
    channel: str
    key: str  # shown once, never stored


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_operator(name: str, channel: str) -> NewOperator:
    """A new operator and its key (240 random bits); only the key's SHA-256 is stored."""
    if not _NAME.fullmatch(name or ""):
        raise InvalidRequest("操作员名称应为1至64个汉字、字母、数字、下划线或连字符",
                             code="invalid_operator_name")  # fmt: skip
    if channel not in OPERATOR_CHANNELS:
        raise InvalidRequest("渠道应为 hall（窗口）或 terminal（自助终端）", code="unknown_channel")
    if await Operator.exists(name=name):
        raise Conflict(f"操作员 {name} 已存在", code="operator_exists")
    key = f"{KEY_PREFIX}{channel}_{secrets.token_urlsafe(30)}"
    row = await Operator.create(
        name=name, channel=channel, key_hash=hash_key(key), display=key[: len(KEY_PREFIX) + 10]
    )
    return NewOperator(row.id, name, channel, key)


async def authenticate_operator(key: str) -> Operator:
    """The live operator whose key this is; 401 without a key, 403 for a wrong or revoked one."""
    if not key:
        raise Unauthorized("请在请求头 Authorization: Bearer <操作员密钥> 中提供操作员密钥",
                           code="operator_key_required")  # fmt: skip
    # Looked up by the key's SHA-256: comparing hashes of 240-bit keys leaks nothing useful.
    operator = await Operator.get_or_none(key_hash=hash_key(key))
    if operator is None:
        raise Forbidden("操作员密钥无效", code="operator_key_invalid")
    if operator.revoked_at is not None:
        raise Forbidden("操作员密钥已吊销", code="operator_key_revoked")
    return operator


async def _agent_consents(enterprise: Enterprise, name: str, phone: str) -> bool:
    agents = await Binding.filter(enterprise_id=enterprise.id, role=BindingRole.AGENT)
    wanted = re.sub(r"[\s-]", "", phone)
    return any(
        binding_allows(a, "reports")
        and same_name(name, a.agent_name or "")
        and hmac.compare_digest(decrypt_phone(a), wanted)
        for a in agents
    )


async def _agent_enterprise(uscc: str, code: Any, name: str, phone: str) -> Enterprise | None:
    """The enterprise, if the agent code (or else the agent's name and phone) authorises
    its reports."""
    candidate = await Enterprise.get_or_none(uscc=uscc)
    if candidate is None:
        return None
    if code is not None:
        allowed = await agent_code_consents(candidate.id, code)
    else:
        allowed = await _agent_consents(candidate, name, phone)
    return candidate if allowed else None


async def window_consent(
    redis: Redis, operator: Operator, consent: Any, uscc: str, client_ip: str | None = None
) -> Enterprise:
    """The enterprise, once its consent checks out at this window; else 403 (counted)."""
    uscc = normalise_uscc(uscc)
    if not isinstance(consent, dict):
        raise InvalidRequest(CONSENT_REQUIRED, code="consent_required")
    id_number = consent.get("legal_rep_id_number")
    agent_name, agent_phone = consent.get("agent_name"), consent.get("agent_phone")
    code = consent.get("agent_code")
    by_id = isinstance(id_number, str) and id_number.strip()
    by_code = isinstance(code, str) and code.strip()
    by_agent = isinstance(agent_name, str) and isinstance(agent_phone, str)
    if not by_id and not by_code and not by_agent:
        raise InvalidRequest(CONSENT_REQUIRED, code="consent_required")
    subject = f"operator:{operator.id}"
    attempt = await lockout.begin(redis, lockout.limits(subject, uscc, client_ip))
    enterprise: Enterprise | None = None
    if by_id:
        enterprise = await enterprise_consents(uscc, None, None, str(id_number).strip())
    else:
        enterprise = await _agent_enterprise(uscc, code if by_code else None,
                                             str(agent_name), str(agent_phone))  # fmt: skip
    if enterprise is None:
        detail = {"uscc": uscc, "operator": operator.name}
        await lockout.fail(attempt, detail, CONSENT_MISMATCH)
    await attempt.succeeded()
    return enterprise
