"""The notifier (notify.send on `notify`): tell a user that their objection (异议) moved on.

The objection service enqueues, per state change::

    {"key": "objection-event:<id>", "user_id": 7, "enterprise_id": 3,
     "text": "您的异议（工单号 …）已由…受理……",                 # the customer-service message
     "template": {"ticket_no": "…", "status": "已受理", "note": "", "time": "2026-11-28 10:00"},
     "page": "pages/objection/detail?id=12"}          # mini-program page of the subscribe message

The template fields go into the templates' keywords as WECHAT_NOTICE_TEMPLATE_FIELDS and
MP_NOTICE_TEMPLATE_FIELDS say; `template` may instead carry WeChat's shape ({"data": {keyword:
value}}) and its own `template_id`. The user gets, on the Official Account, a
customer-service message when the 48-hour window allows, else a template message (else, with no
template configured, the notice is held until they write); and, when they granted the
mini-program's subscribe template (SubscriptionGrant.remaining > 0), a subscribe message too.

Exactly once per key: the first delivery creates the Notification row (unique key) and every
step is recorded on it *before* the call it guards ("claim before send"):
- the template message carries client_msg_id = key, so WeChat itself drops a repeat: exact;
- the subscribe grant is decremented in the same transaction that records the claim, and a
  repeat of the send is refused by WeChat (43101, the grant is used): exact;
- a customer-service message has no such id. A notifier killed after WeChat accepted it and
  before the row says so cannot know whether it went out: the redelivery sends it again (at
  least once; a repeated notice is better than a lost one). The row's `attempts` shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from config import clock
from config.settings import Settings
from models.enums import NotificationStatus
from models.user import Notification, SubscriptionGrant, User
from queues.registry import Handler, JobContext
from services.wechat.client import (
    OUT_OF_WINDOW,
    OVER_QUOTA,
    WeChatApiError,
    WeChatClient,
    wechat_http,
)
from services.wechat.outbound import GIVE_UP, HttpFactory, count_sent, quota_left, window_open

log = logging.getLogger(__name__)

GRANT_USED = 43101


# Longest value WeChat takes per subscribe-message keyword type (the keyword without digits).
SUBSCRIBE_LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "number": 32, "letter": 32,
                    "symbol": 5, "name": 10, "short_thing": 5, "phone_number": 17}  # fmt: skip
ASCII_KINDS = frozenset({"character_string", "number", "letter", "phone_number"})


def keyword_fields(spec: str) -> list[tuple[str, str]]:
    """ "keyword1=ticket_no,remark=note" as (keyword, field) pairs."""
    pairs = (item.partition("=") for item in spec.split(",") if "=" in item)
    return [(k.strip(), f.strip()) for k, _, f in pairs if k.strip() and f.strip()]


def template_data(
    template: Mapping[str, Any] | None, fields: str = "", *, subscribe: bool = False
) -> dict[str, dict[str, str]]:
    """The keyword data as WeChat wants it: {"thing1": {"value": "…"}}.

    `template` is either WeChat's shape already ({"data": {keyword: value}}), or the notice's
    fields ({"ticket_no": …, "status": …}) that `fields` maps to the template's keywords.
    Subscribe messages refuse empty or overlong values (47003): those are filled or shortened.
    """
    raw = dict(template or {})
    raw.pop("template_id", None)
    if "data" in raw:
        values = dict(raw["data"])
    elif fields:
        values = {keyword: raw.get(field, "") for keyword, field in keyword_fields(fields)}
    else:
        values = raw
    data = {}
    for keyword, value in values.items():
        text = str((value.get("value") if isinstance(value, dict) else value) or "")
        data[keyword] = {"value": _fit(keyword, text) if subscribe else text}
    return data


def _fit(keyword: str, text: str) -> str:
    kind = keyword.rstrip("0123456789")
    if not text.strip():
        return "-" if kind in ASCII_KINDS else "无"
    limit = SUBSCRIBE_LIMITS.get(kind)
    if limit is None or len(text) <= limit:
        return text
    head = text.split("（")[0]  # "已办结（已更正）": the part before the brackets reads whole
    if head and len(head) <= limit:
        return head
    return text[: limit - 1] + "…" if kind == "thing" else text[:limit]


async def claim(payload: Mapping[str, Any], user: User | None) -> Notification:
    """The notice's row, created by the first delivery (the unique key decides races)."""
    key = str(payload["key"])
    notice = await Notification.get_or_none(key=key)
    if notice is not None:
        return notice
    try:
        return await Notification.create(
            key=key,
            user=user,
            status=NotificationStatus.PENDING,
            payload={"request": dict(payload), "progress": {}},
        )
    except IntegrityError:
        return await Notification.get(key=key)


class Notifier:
    """Sends one notice, recording each step on its Notification row before the call."""

    def __init__(
        self, ctx: JobContext, oa: WeChatClient, mp: WeChatClient, notice: Notification
    ) -> None:
        self.redis = ctx.redis
        self.settings: Settings = ctx.settings
        self.oa = oa
        self.mp = mp
        self.notice = notice
        self.request: dict[str, Any] = notice.payload["request"]
        self.progress: dict[str, Any] = notice.payload.setdefault("progress", {})

    async def save(self, **fields: Any) -> None:
        """Record progress (and the given fields) on the row."""
        for name, value in fields.items():
            setattr(self.notice, name, value)
        await self.notice.save()

    async def run(self, user: User) -> None:
        """The Official Account part, then the subscribe part, then the row's outcome."""
        self.notice.attempts += 1
        await self.save()
        held = False
        if not self.progress.get("oa_done"):
            try:
                held = not await self._official_account(user)
            except WeChatApiError as exc:
                if exc.errcode not in GIVE_UP:
                    raise
                # Unfollowed, or an openid WeChat does not know: retrying cannot help.
                log.warning("notice %s not sent on the OA: %s", self.notice.key, exc)
                self.progress["oa_done"] = True
                await self.save(error=str(exc)[:500])
        if not self.progress.get("subscribe_done"):
            await self._subscribe(user)
        if held:
            await self.save(status=NotificationStatus.HELD)
        elif self.progress.get("oa_sent") or self.progress.get("subscribe_sent"):
            await self.save(status=NotificationStatus.SENT, sent_at=clock.utc_now())
        else:
            await self.save(
                status=NotificationStatus.FAILED, error=self.notice.error or "no channel"
            )

    async def _official_account(self, user: User) -> bool:
        """The OA part; False when it is held for the user's next message."""
        if not user.oa_openid:
            self.progress["oa_done"] = True
            return True
        channel = self.progress.get("oa_channel")
        if channel in (None, "held"):
            channel = await self._choose(user)
        if channel == "custom":
            self.progress["oa_channel"] = "custom"
            await self.save(channel="custom", status=NotificationStatus.SENDING)  # the claim
            try:
                await self.oa.send_text(user.oa_openid, self.request["text"])
                await count_sent(self.redis, user.oa_openid)
            except WeChatApiError as exc:
                if exc.errcode not in (OUT_OF_WINDOW, OVER_QUOTA):
                    raise
                channel = "template" if self._template_id() else "held"
        if channel == "held":
            self.progress["oa_channel"] = "held"
            await self.save(channel="held")
            return False
        if channel == "template":
            self.progress["oa_channel"] = "template"
            await self.save(channel="template", status=NotificationStatus.SENDING)
            await self.oa.send_template(
                user.oa_openid,
                self._template_id(),
                template_data(
                    self.request.get("template"), self.settings.wechat_notice_template_fields
                ),
                client_msg_id=self.notice.key,  # WeChat sends one message per id
            )
        self.progress["oa_done"] = self.progress["oa_sent"] = True
        await self.save()
        return True

    async def _choose(self, user: User) -> str:
        assert user.oa_openid
        if window_open(user) and await quota_left(self.redis, self.settings, user.oa_openid) > 0:
            return "custom"
        return "template" if self._template_id() else "held"

    def _template_id(self) -> str:
        template = self.request.get("template") or {}
        return str(template.get("template_id") or self.settings.wechat_notice_template_id)

    async def _subscribe(self, user: User) -> None:
        template_id = self.settings.mp_notice_template_id
        if not user.mp_openid or not template_id or self.request.get("oa_only"):
            self.progress["subscribe_done"] = True
            return
        if not self.progress.get("subscribe_claimed"):
            async with in_transaction():
                used = await SubscriptionGrant.filter(
                    user_id=user.id, template_id=template_id, remaining__gt=0
                ).update(remaining=F("remaining") - 1)
                self.progress["subscribe_claimed"] = bool(used)
                self.progress["subscribe_done"] = not used
                await self.save()
            if not used:
                return
        try:
            await self.mp.send_subscribe(
                user.mp_openid,
                template_id,
                template_data(
                    self.request.get("template"),
                    self.settings.mp_notice_template_fields,
                    subscribe=True,
                ),
                page=str(self.request.get("page") or ""),
            )
        except WeChatApiError as exc:
            if exc.errcode != GRANT_USED:
                # Bad data (47003) and the like will not improve by retrying: record and go on.
                log.error("subscribe message for %s refused: %s", self.notice.key, exc)
                await self.save(error=str(exc)[:500])
                self.progress["subscribe_done"] = True
                await self.save()
                return
        self.progress["subscribe_done"] = self.progress["subscribe_sent"] = True
        await self.save()


def notify_job(http: HttpFactory = wechat_http) -> Handler:
    """The notify.send handler."""

    async def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
        user = await User.get_or_none(id=payload.get("user_id"))
        notice = await claim(payload, user)
        if notice.status == NotificationStatus.SENT:
            return
        if user is None:
            notice.status = NotificationStatus.FAILED
            notice.error = "no such user"
            await notice.save()
            return
        async with http() as session:
            oa = WeChatClient.for_oa(ctx.settings, ctx.redis, session)
            mp = WeChatClient.for_mp(ctx.settings, ctx.redis, session)
            await Notifier(ctx, oa, mp, notice).run(user)

    return handle
