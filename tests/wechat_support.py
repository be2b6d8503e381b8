"""Helpers for the WeChat tests: settings with an OA configuration, and pushes as WeChat sends."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from config.settings import Settings
from fakes.wechat_push import PushSigner

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
NOTICE_TEMPLATE = "tmpl_oa_notice"
SUBSCRIBE_TEMPLATE = "tmpl_mp_objection"


def wechat_settings(settings: Settings, **overrides: object) -> Settings:
    """The test settings plus a safe-mode key and template ids (the fixture leaves them out)."""
    return replace(
        settings,
        wechat_aes_key=AES_KEY,
        wechat_notice_template_id=NOTICE_TEMPLATE,
        mp_notice_template_id=SUBSCRIBE_TEMPLATE,
        **overrides,  # type: ignore[arg-type]
    )


def signer_for(settings: Settings) -> PushSigner:
    return PushSigner(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)


async def post_signed(
    cli: TestClient,
    settings: Settings,
    xml: str,
    *,
    encrypt: bool = True,
    timestamp: int | None = None,
) -> ClientResponse:
    """POST xml to /wechat as WeChat would (safe mode unless encrypt=False)."""
    query, body = signer_for(settings).sign(xml, encrypt=encrypt, timestamp=timestamp)
    return await cli.post("/wechat", params=query, data=body)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(2000)


async def ready_report(settings: Settings, requester: object = None, channel: str = "bot") -> Any:
    """A ready report with a stored card, without rendering one (the sender only reads files)."""
    from datetime import UTC, date, datetime

    from infra.storage import open_store
    from models.enterprise import Enterprise
    from models.report import Report

    enterprise, _ = await Enterprise.get_or_create(
        uscc="91500103MA5U7R6P0X",
        defaults={"name": "重庆渝信示范科技股份有限公司", "legal_rep_name": "张三",
                  "legal_rep_id_hash": "h", "district": "渝中区"},
    )  # fmt: skip
    number = f"YX20261127{await Report.all().count() + 1:06d}"
    storage = open_store(settings)
    return await Report.create(
        number=number, verify_code="ABCD2345", enterprise=enterprise, domains=[1],
        span_from=date(2023, 1, 1), span_to=date(2026, 1, 1), purpose="listing",
        channel=channel, requester=requester, status="ready", ready_at=datetime.now(UTC),
        png_path=await storage.put(f"{number}.png", PNG),
        pdf_path=await storage.put(f"{number}.pdf", b"%PDF"),
    )  # fmt: skip
