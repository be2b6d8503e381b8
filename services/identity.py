"""Identifiers: USCC (统一社会信用代码) checks and keyed hashes of ID numbers."""

from __future__ import annotations

import hashlib
import hmac
import re

from stdnum.cn import uscc as stdnum_uscc

from services.errors import InvalidRequest, Unprocessable

# The USCC's form (GB 32100): eight digits, then ten of the code's 31 characters. The API
# document states the same pattern; the check digit is the one rule it cannot state.
_USCC_FORM = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")
_INVALID_USCC = "统一社会信用代码无效，请核对后重新输入（18位，含校验码）"


def normalise_uscc(value: str) -> str:
    """Upper-case and strip a USCC: InvalidRequest unless it has the form, Unprocessable
    unless its check digit holds."""
    compact = stdnum_uscc.compact(value or "")
    if not _USCC_FORM.fullmatch(compact):
        raise InvalidRequest(_INVALID_USCC, code="invalid_uscc", value=value)
    if not stdnum_uscc.is_valid(compact):
        raise Unprocessable(_INVALID_USCC, code="invalid_uscc", value=value)
    return compact


def is_valid_uscc(value: str) -> bool:
    return stdnum_uscc.is_valid(value or "")


def hash_id_number(key: str, id_number: str) -> str:
    """HMAC-SHA256 of an ID number, so that it can be checked without being stored."""
    if not key:
        raise RuntimeError("ID_HASH_KEY is not set: refusing to hash ID numbers without a key")
    normalised = id_number.strip().upper()
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def id_number_matches(key: str, id_number: str, stored_hash: str) -> bool:
    """Constant-time comparison of an ID number with its stored keyed hash."""
    return hmac.compare_digest(hash_id_number(key, id_number), stored_hash)
