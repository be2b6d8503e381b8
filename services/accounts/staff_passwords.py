"""Staff passwords, hashed with scrypt (hashlib, in the standard library).

scrypt rather than argon2: both are memory-hard, and scrypt needs no new package (argon2-cffi is
not in the lock). n=2**14, r=8, p=1 costs 16 MiB and tens of milliseconds a check, which is
why callers run it in a thread, off the event loop. The parameters are stored with each hash, so
they can be raised later without breaking existing ones.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 12
_MAX_MEM = 64 * 1024 * 1024


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEM, dklen=KEY_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$key`, salt and key in base64."""
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def password_matches(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(derived, base64.b64decode(key))
    except ValueError:
        return False


# Checked when no account has the name, so that an unknown name takes as long as a wrong password.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


async def password_matches_off_loop(password: str, stored: str) -> bool:
    """password_matches in a worker thread: scrypt must not hold up the event loop."""
    return await asyncio.to_thread(password_matches, password, stored)


def password_problem(password: str) -> str | None:
    """Why a new password is refused (Chinese), or None."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(set(password)) < 6:
        return "密码过于简单，请混合使用不同字符"
    return None
