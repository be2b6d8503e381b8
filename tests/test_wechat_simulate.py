"""`run.py wechat simulate`: a terminal user chatting with the bot through /wechat and the fake."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from config.settings import Settings
from fakes.wechat import FakeWeChat
from fakes.wechat_simulate import describe
from handlers.app import create_app
from queues import Registry, Worker, worker_redis
from services.wechat.inbound import inbound_job
from services.wechat.outbound import OUTBOUND_JOB, OUTBOUND_STREAM, outbound_job
from services.wechat.webhook import INBOUND_JOB, INBOUND_STREAM
from tests.conftest import REDIS_URL
from tests.wechat_engines import echo_engine
from tests.wechat_support import wechat_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return wechat_settings(settings)


@pytest.fixture
async def app_url(
    aiohttp_server, settings_on_fake: Settings, redis: Redis, db: str
) -> AsyncIterator[str]:
    """The app on a port, with a bot worker (echo engine) and a sender in this process."""
    server = await aiohttp_server(create_app(settings_on_fake))
    registry = Registry()
    registry.add(INBOUND_JOB, inbound_job(echo_engine))
    registry.add(OUTBOUND_JOB, outbound_job())
    client = worker_redis(REDIS_URL, block_ms=100)
    worker = Worker(client, registry, [INBOUND_STREAM, OUTBOUND_STREAM], context=settings_on_fake,
                    block_ms=100, mover_interval_s=0.05)  # fmt: skip
    task = asyncio.create_task(worker.run())
    yield str(server.make_url("")).rstrip("/")
    worker.stop()
    await task
    await client.aclose()


async def simulate(
    settings: Settings, app_url: str, tmp_path: Path, *args: str, token: str | None = None
) -> tuple[int, str]:
    env = {
        "WECHAT_TOKEN": token or settings.wechat_token,
        "WECHAT_AES_KEY": settings.wechat_aes_key,
        "WECHAT_APP_ID": settings.wechat_app_id,
        "WECHAT_API_BASE": settings.wechat_api_base,
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
        "LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin:/bin",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", "wechat", "simulate", "--url", app_url, "--quiet", "0.5", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_said_lines_reach_the_bot_encrypted_and_its_replies_are_printed(
    settings_on_fake: Settings, app_url: str, fake_wechat: FakeWeChat, tmp_path: Path
) -> None:
    code, out = await simulate(
        settings_on_fake,
        app_url,
        tmp_path,
        "--openid",
        "o_term",
        "--say",
        "你好",
        "--say",
        "查报告",
    )

    assert code == 0, out
    assert out.splitlines() == [
        "你：你好",
        "信用重庆：你说：你好",
        "你：查报告",
        "信用重庆：你说：查报告",
    ]
    assert [m.touser for m in fake_wechat.sent] == ["o_term", "o_term"]


async def test_a_script_file_is_sent_line_by_line(
    settings_on_fake: Settings, app_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "chat.txt"
    script.write_text("# 注释行不发送\n第一句\n\n第二句\n", encoding="utf-8")

    code, out = await simulate(settings_on_fake, app_url, tmp_path, "--script", str(script))

    assert code == 0, out
    assert [line for line in out.splitlines() if line.startswith("信用重庆")] == [
        "信用重庆：你说：第一句",
        "信用重庆：你说：第二句",
    ]


async def test_a_push_the_app_refuses_is_reported_and_fails_the_run(
    settings_on_fake: Settings, app_url: str, tmp_path: Path
) -> None:
    code, out = await simulate(settings_on_fake, app_url, tmp_path, "--say", "你好", token="wrong")

    assert code == 1
    assert "推送被拒绝：HTTP 403" in out


def test_template_and_image_messages_are_described_as_the_user_sees_them() -> None:
    template = {"kind": "template", "payload": {"data": {"first": {"value": "报告已出具"},
                "keyword1": {"value": "YX1"}}, "url": "http://x/verify/YX1"}}  # fmt: skip
    image = {"kind": "custom", "payload": {"msgtype": "image", "image": {"media_id": "M" * 20}}}

    assert describe(template) == "信用重庆：[模板消息] 报告已出具；YX1（http://x/verify/YX1）"
    assert describe(image) == "信用重庆：[图片 MMMMMMMMMMMM…]"
