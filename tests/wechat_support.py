"""Helpers for the WeChat tests: settings with an OA configuration, and pushes as WeChat sends."""

from __future__ import annotations

from dataclasses import replace

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
