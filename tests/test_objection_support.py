"""Helpers shared by the objection tests: enterprises with bound users, records pushed through
the department API, images, and the notify stream. (pytest collects it; it holds no tests.)"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

from PIL import Image
from redis.asyncio import Redis

from models.catalogue import Department
from models.enterprise import Enterprise
from models.enums import BindingRole, RecordKind, RecordStatus
from models.record import Record
from models.user import Binding, User
from services.accounts.mp_sessions import create_session
from services.ingest.content import record_content_hash
from tests.test_ingest_support import uscc_for


def image(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


PNG = image("PNG")
JPEG = image("JPEG")


async def enterprise(index: int = 1) -> Enterprise:
    return await Enterprise.create(
        uscc=uscc_for(index),
        name=f"重庆异议测试{index}有限公司",
        legal_rep_name="张三",
        legal_rep_id_hash="0" * 64,
        district="渝中区",
    )


async def bound_user(
    ent: Enterprise, role: BindingRole = BindingRole.LEGAL_REPRESENTATIVE, scopes=("objections",)
) -> User:
    user = await User.create(mp_openid=f"openid-{ent.id}-{role.value}-{len(scopes)}")
    await Binding.create(user=user, enterprise=ent, role=role, scopes=list(scopes))
    return user


async def token(redis: Redis, user: User) -> dict[str, str]:
    session = await create_session(redis, user.id)
    return {"Authorization": f"Bearer {session.token}"}


async def record(
    ent: Enterprise, department: str = "samr", domain: int = 27, ref: str = "R-1", **kw: Any
) -> Record:
    """A record as ingestion stores it (content hash of its columns)."""
    dept = await Department.get(code=department)
    values: dict[str, Any] = {
        "kind": RecordKind.ADMINISTRATIVE_PENALTY.value,
        "procedure": "ordinary",
        "decision_no": "渝市监罚〔2024〕12号",
        "authority": "重庆市市场监督管理局",
        "decision_date": date(2024, 3, 15),
        "summary": "因未按规定公示年度报告，被处以警告并罚款5,000元。",
        "status": RecordStatus.IN_FORCE.value,
    }
    values.update(kw)
    content_hash = record_content_hash(
        department=department, source_ref=ref, uscc=ent.uscc, domain=domain, **values
    )
    return await Record.create(
        enterprise=ent, domain_id=domain, department=dept, source_ref=ref,
        content_hash=content_hash, pushed_at=datetime(2024, 3, 20, tzinfo=UTC), **values,
    )  # fmt: skip


async def notify_jobs(redis: Redis) -> list[dict[str, Any]]:
    """The payloads on the notify stream, oldest first."""
    out = []
    for _, fields in await redis.xrange("notify"):
        decoded = {k.decode(): v.decode() for k, v in fields.items()}
        assert decoded.get("job") == "notify.send", decoded
        out.append(json.loads(decoded["payload"]))
    return out
