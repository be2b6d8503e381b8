"""The lockout on guessing at an enterprise's secrets: binding as its legal representative (ID
number), redeeming an agent code, and consenting at a window. Shared by the mini-program, the
bot and the windows.

Every attempt is counted before it is checked (services.accounts.attempts), against three limits at
once: the user (or window operator), the enterprise, and the client IP. A new user costs an
attacker only a WeChat login, so the enterprise's and the IP's limits are what stop many users
guessing at one enterprise. When an enterprise is locked, its legal representatives are told
(a notice through the notify queue).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NoReturn

from redis.asyncio import Redis
from redis.exceptions import RedisError

from config.calendar import CHINA
from models.enterprise import Enterprise
from models.enums import BindingRole
from models.user import Binding
from queues.producer import enqueue
from services.access import binding_is_live
from services.accounts.attempts import Attempt, Limit, Refusal
from services.audit import append_audit
from services.errors import ServiceError
from services.objections.events import NOTIFY_JOB, NOTIFY_STREAM

log = logging.getLogger(__name__)

NAMESPACE = "binding"
WINDOW_S = 60 * 60
FIRST_LOCK_S = 60 * 60
PER_USER = 5
PER_ENTERPRISE = 10
PER_IP = 20


class BindingFailed(ServiceError):
    """The enterprise details, the ID number or the agent code did not check out."""

    status = 403
    code = "binding_mismatch"
    message = "核验未通过，请核对后重试"


class BindingLocked(ServiceError):
    """Too many wrong attempts (by this user, on this enterprise or from this address)."""

    status = 429
    code = "binding_locked"
    message = "核验信息错误次数过多，已锁定，请稍后再试"

    @classmethod
    def after(cls, retry_after_s: int) -> BindingLocked:
        minutes = max(1, -(-retry_after_s // 60))
        return cls(f"核验信息错误次数过多，已锁定，请于{_duration(minutes)}后再试",
                   retry_after_s=retry_after_s)  # fmt: skip


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{minutes}分钟"
    return f"{hours}小时" + (f"{rest}分钟" if rest else "")


def limits(actor: str, uscc: str | None = None, ip: str | None = None) -> tuple[Limit, ...]:
    """The limits of one attempt: the actor ("user:7", "operator:2"), and where known the
    enterprise guessed at and the client's IP (the bot has none: WeChat relays its users)."""
    found = [Limit(actor, PER_USER, WINDOW_S, FIRST_LOCK_S)]
    if uscc:
        found.append(Limit(f"enterprise:{uscc}", PER_ENTERPRISE, WINDOW_S, FIRST_LOCK_S))
    if ip:
        found.append(Limit(f"ip:{ip}", PER_IP, WINDOW_S, FIRST_LOCK_S))
    return tuple(found)


async def begin(redis: Redis, attempt_limits: tuple[Limit, ...]) -> Attempt:
    """Count an attempt before anything is checked; BindingLocked (429) if it may not go on."""
    attempt = Attempt(redis, NAMESPACE, attempt_limits)
    refusal = await attempt.begin()
    if refusal is not None:
        raise BindingLocked.after(refusal.retry_after_s)
    return attempt


async def fail(attempt: Attempt, detail: dict[str, Any], message: str) -> NoReturn:
    """Keep the wrong attempt's count (audited), lock what reached its limit, and raise."""
    left, locks = await attempt.failed()
    actor = attempt.limits[0].subject
    await append_audit(actor, "binding.failed", "subject", actor, detail)
    for lock in locks:
        if lock.locked_now:
            await _locked(attempt.redis, actor, lock)
    if locks:
        raise BindingLocked.after(max(lock.retry_after_s for lock in locks))
    raise BindingFailed(f"{message}（再错 {left} 次将锁定）", remaining_attempts=left)


async def _locked(redis: Redis, actor: str, lock: Refusal) -> None:
    subject = lock.limit.subject
    await append_audit(actor, "binding.locked", "subject", subject,
                       {"for_s": lock.retry_after_s})  # fmt: skip
    if subject.startswith("enterprise:"):
        await alert_legal_representatives(redis, subject.removeprefix("enterprise:"), lock)


async def alert_legal_representatives(redis: Redis, uscc: str, lock: Refusal) -> int:
    """Tell the enterprise's legal representatives that someone is guessing at it; how many
    notices were queued. A failure to queue is logged, never raised: the lock holds anyway."""
    enterprise = await Enterprise.get_or_none(uscc=uscc)
    if enterprise is None:
        return 0
    reps = await Binding.filter(enterprise_id=enterprise.id, role=BindingRole.LEGAL_REPRESENTATIVE)
    now = datetime.now(CHINA)
    text = (
        f"【安全提醒】{enterprise.name}的绑定核验在短时间内多次失败，可能有人在冒用贵企业信息"
        f"尝试绑定，已锁定{_duration(lock.retry_after_s // 60)}。如非贵企业人员操作，请核查。"
    )
    queued = 0
    for rep in (r for r in reps if binding_is_live(r)):
        payload = {
            "key": f"binding-guess:{enterprise.id}:{rep.user_id}:{int(now.timestamp())}",
            "user_id": rep.user_id,
            "enterprise_id": enterprise.id,
            "text": text,
            # The mini-program's subscribe grants are for objection progress: not used here.
            "oa_only": True,
            "template": {
                "ticket_no": enterprise.uscc,
                "status": "绑定核验多次失败",
                "time": now.strftime("%Y-%m-%d %H:%M"),
                "note": text,
            },  # fmt: skip
        }
        try:
            await enqueue(redis, NOTIFY_STREAM, NOTIFY_JOB, payload, key=payload["key"])
            queued += 1
        except (RedisError, OSError) as exc:
            log.error("binding-guess alert for enterprise %s not queued: %s", enterprise.id, exc)
    return queued
