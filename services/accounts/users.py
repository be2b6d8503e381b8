"""The Official Account's users, known by their openid."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from models.user import User


async def oa_user(openid: str) -> User:
    """The user behind an Official Account openid, created on first contact."""
    user = await User.get_or_none(oa_openid=openid)
    if user is None:
        try:
            user = await User.create(oa_openid=openid)
        except IntegrityError:  # created meanwhile by a mini-program login or another job
            user = await User.get(oa_openid=openid)
    return user
