"""Masking personal data (个人信息) wherever it is shown to staff: ops pages, logs, exports."""

from __future__ import annotations

import re
from typing import Any

from config.logging import RewritingFilter

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# Keys whose values identify a person however they look.
_PERSONAL_KEYS = {
    "openid",
    "unionid",
    "touser",
    "fromusername",
    "from_user",
    "session_key",
    "id_number",
    "legal_rep_id",
    "phone",
    "mobile",
    "agent_phone",
    "name",
    "legal_rep_name",
    "agent_name",
    "agent_code",
}
_PHONE_KEYS = {"phone", "mobile", "agent_phone"}


def mask_phone(phone: str) -> str:
    """138****5678."""
    return _PHONE.sub(r"\1****\3", phone)


def mask_text(value: str) -> str:
    """Mask phone numbers and ID numbers found inside free text."""
    return _PHONE.sub(r"\1****\3", _ID_NUMBER.sub(r"\1********\2", value))


def mask_identifier(value: str) -> str:
    """Keep just enough to tell two apart: the first and last characters."""
    if len(value) <= 2:
        return "*" * len(value)
    if len(value) <= 6:
        return value[0] + "*" * (len(value) - 2) + value[-1]
    return value[:3] + "****" + value[-3:]


def mask_personal(value: Any, key: str = "") -> Any:
    """A copy of a JSON-like value with personal data masked, by key name and by pattern."""
    if isinstance(value, dict):
        return {k: mask_personal(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal(v, key) for v in value]
    if isinstance(value, str):
        if key.lower() in _PHONE_KEYS and _PHONE.fullmatch(value):
            return mask_phone(value)
        if key.lower() in _PERSONAL_KEYS:
            return mask_identifier(value)
        return mask_text(value)
    return value


class MaskingFilter(RewritingFilter):
    """Masks phone and ID numbers in every log line, whoever wrote it."""

    def __init__(self) -> None:
        super().__init__(mask_text)
