"""Helpers for the bot's tests: a chat that talks to the engine with a clock of its own."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from redis.asyncio import Redis
from stdnum.cn import uscc as stdnum_uscc

from bot.dialogs import MediaDownloader, Turn
from bot.engine import handle
from bot.state import DialogState, load_state
from config.settings import Settings
from models.catalogue import Department
from models.enterprise import Enterprise
from models.enums import BindingRole, RecordKind, RecordStatus
from models.record import Record
from models.report import Report
from models.user import Binding, User
from services.identity import hash_id_number
from services.reports.issuing import Renderer, ReportRequest, issue, request_report
from services.reports.signing import SnapshotSigner
from services.wechat.messages import InboundMessage, OutboundMessage

# 2026-11-27 10:00 in Chongqing.
START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC).timestamp()
TODAY = date(2026, 11, 27)
NAME = "重庆渝信示范科技股份有限公司"
LEGAL_REP = "张三"
ID_NUMBER = "11010519491231002X"
_msg_ids = itertools.count(1000)


def valid_uscc(body: str = "91500103MA5U7R6P0") -> str:
    return body + stdnum_uscc.calc_check_digit(body)


USCC = valid_uscc()


async def no_media(redis: Redis, settings: Settings, media_id: str) -> bytes:
    raise AssertionError("this test downloads no media")


class Chat:
    """One WeChat user talking to the engine; `clock` moves only when the test says so."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        openid: str = "o-user-1",
        download_media: MediaDownloader = no_media,
    ) -> None:
        self.redis, self.settings, self.openid = redis, settings, openid
        self.clock = START
        self.download_media = download_media
        self.sent: list[OutboundMessage] = []

    async def send(self, msg: InboundMessage) -> list[OutboundMessage]:
        out = await handle(
            self.redis, self.settings, msg, now=self.clock, download_media=self.download_media
        )
        assert all(o.openid == self.openid for o in out)
        self.sent += out
        self.clock += 1
        return out

    def message(self, kind: str = "text", **fields: Any) -> InboundMessage:
        return InboundMessage(
            openid=self.openid,
            kind=kind,
            create_time=int(self.clock),  # type: ignore[arg-type]
            msg_id=str(next(_msg_ids)),
            **fields,
        )

    async def say(self, text: str) -> list[str]:
        """The texts the bot answers `text` with."""
        out = await self.send(self.message(content=text))
        return [o.text for o in out if o.kind == "text"]

    async def click(self, key: str) -> list[str]:
        out = await self.send(self.message("event", event="click", event_key=key))
        return [o.text for o in out]

    async def event(self, event: str) -> list[OutboundMessage]:
        return await self.send(self.message("event", event=event))

    async def image(self, media_id: str) -> list[str]:
        out = await self.send(self.message("image", media_id=media_id))
        return [o.text for o in out]

    async def state(self) -> DialogState:
        state, _ = await load_state(self.redis, self.openid, self.clock)
        return state

    async def user(self) -> User:
        return await User.get(oa_openid=self.openid)


def turn(chat: Chat, text: str, user: User) -> Turn:
    """A turn for calling one step directly, (state, turn) -> (state, replies)."""
    return Turn(
        chat.redis,
        chat.settings,
        user.id,
        chat.message(content=text),
        chat.clock,
        chat.download_media,
    )


async def make_enterprise(uscc: str = USCC, name: str = NAME) -> Enterprise:
    """An enterprise with one penalty in domain 15 (2023) and one in domain 37 (2024)."""
    ent = await Enterprise.create(
        uscc=uscc,
        name=name,
        legal_rep_name=LEGAL_REP,
        legal_rep_id_hash=hash_id_number("test-id-hash-key", ID_NUMBER),
        district="渝中区",
    )
    for domain, dept, ref, decided, no in (
        (15, "ecology", "ECO-1", date(2023, 5, 6), "渝环罚〔2023〕88号"),
        (37, "tax", "TAX-1", date(2024, 9, 30), "渝税欠〔2024〕0387号"),
    ):
        await Record.create(
            enterprise=ent,
            domain_id=domain,
            department=await Department.get(code=dept),
            source_ref=f"{ref}-{uscc}",
            kind=RecordKind.ADMINISTRATIVE_PENALTY,
            decision_no=no,
            authority="重庆市生态环境局",
            decision_date=decided,
            summary="废气超标排放",
            status=RecordStatus.IN_FORCE,
            content_hash="x",
            pushed_at=datetime(2024, 10, 8, tzinfo=UTC),
        )
    return ent


async def bind(
    user: User,
    enterprise: Enterprise,
    role: BindingRole = BindingRole.LEGAL_REPRESENTATIVE,
    scopes: tuple[str, ...] = (),
) -> Binding:
    return await Binding.create(user=user, enterprise=enterprise, role=role, scopes=list(scopes))


async def bound_chat(redis: Redis, settings: Settings, **kw: Any) -> tuple[Chat, Enterprise]:
    """A chat whose user is the legal representative of the sample enterprise."""
    chat = Chat(redis, settings, **kw)
    await chat.event("subscribe")
    enterprise = await make_enterprise()
    await bind(await chat.user(), enterprise)
    return chat, enterprise


# Stand-in files for tests about issuing, not rendering (the PDF and card are tested with reports).
FAKE_RENDERER = Renderer(
    card=lambda snap: b"\x89PNG test", pdf=lambda snap, e, evidence=(): b"%PDF-1.7 test"
)


async def issued_report(settings: Settings, redis: Redis, requester: User | None) -> Report:
    """A ready report on the sample enterprise (made if missing), from 2021 to today."""
    if not await Enterprise.exists(uscc=USCC):
        await make_enterprise()
    request = ReportRequest(
        uscc=USCC,
        start="2021-01-01",
        channel="bot",
        requester_id=requester.id if requester else None,
    )
    report = await request_report(redis, request, today=TODAY)

    async def data_as_of(domains: Any) -> dict[int, date | None]:
        return {d: TODAY for d in domains}

    return await issue(
        report,
        settings=settings,
        signer=SnapshotSigner(settings.report_signing_key),
        data_as_of=data_as_of,
        renderer=FAKE_RENDERER,
    )
