"""Chat with the bot from a terminal: `run.py wechat simulate`.

Plays WeChat's part for one user: each line typed is pushed to /wechat as WeChat would push it
(safe mode, encrypted with wechatpy's crypto), after telling the fake WeChat server that the user
wrote (that opens the 48-hour window). It then prints what the fake server received for that
user from the bot (customer-service, template and subscribe messages) until the bot falls quiet.

Commands inside the chat: `/图片 PATH` (or `/photo PATH`) sends a photo, `/菜单 KEY` (`/menu`) a
menu click, `/关注` (`/subscribe`) the follow event, `/等待图片` (`/wait-image`) waits for the bot's
next image (a report card comes when it is rendered, after the bot fell quiet), `/退出` (`/quit`)
ends. In the interactive chat, what the bot sends while the user is typing is shown as it comes.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from fakes.wechat_push import PushSigner, event_xml, image_xml, text_xml

PROMPT = "你："
BOT = "信用重庆"
WAIT_IMAGE_COMMANDS = frozenset({"/等待图片", "/wait-image"})


@dataclass
class Simulator:
    """One simulated user talking to the app at `app_url` through the fake at `api_base`."""

    app_url: str
    api_base: str
    signer: PushSigner
    appid: str
    openid: str = field(default_factory=lambda: f"o_sim_{secrets.token_hex(6)}")
    encrypt: bool = True
    quiet_s: float = 1.5  # the bot is done when nothing new arrived for this long
    max_wait_s: float = 20.0
    image_wait_s: float = 120.0  # a report card is rendered first: that can take a while
    image_seen: bool = False  # since the user's last message
    out: Callable[[str], None] = print
    seen: int = 0

    async def start(self, http: aiohttp.ClientSession) -> None:
        """The user follows the OA; what the fake sent them before is not shown again."""
        await self._control(http, "followers", {"appid": self.appid, "openid": self.openid})
        self.seen = len(await self.sent(http))

    async def say(self, http: aiohttp.ClientSession, line: str) -> bool:
        """Push one line (text or command) and print the bot's answers; False on a refusal."""
        if line.strip() in WAIT_IMAGE_COMMANDS:
            return await self.wait_for_image(http)
        xml = await self._xml(http, line.strip())
        if xml is None:
            return False
        await self._control(http, "touch", {"appid": self.appid, "openid": self.openid})
        self.image_seen = False
        query, body = self.signer.sign(xml, encrypt=self.encrypt)
        async with http.post(f"{self.app_url}/wechat", params=query, data=body) as resp:
            answer = await resp.text()
        if resp.status != 200 or answer != "success":
            self.out(f"（推送被拒绝：HTTP {resp.status} {answer}）")
            return False
        await self.print_replies(http)
        return True

    async def print_replies(self, http: aiohttp.ClientSession) -> None:
        """Print what the fake receives for the user until the bot falls quiet."""
        deadline = time.monotonic() + self.max_wait_s
        last_new = time.monotonic()
        while time.monotonic() - last_new < self.quiet_s and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if await self.print_new(http):
                last_new = time.monotonic()

    async def print_new(self, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        """Print what the fake received for the user since last time; return it."""
        sent = await self.sent(http)
        new = sent[self.seen :]
        for message in new:
            self.out(describe(message))
        self.seen = len(sent)
        self.image_seen = self.image_seen or any(is_image(m) for m in new)
        return new

    async def wait_for_image(self, http: aiohttp.ClientSession) -> bool:
        """Print what arrives until an image has come since the user's last message (a report
        card); False if none comes in time."""
        deadline = time.monotonic() + self.image_wait_s
        while time.monotonic() < deadline:
            await self.print_new(http)
            if self.image_seen:
                await self.print_replies(http)  # the text with the links follows the card
                return True
            await asyncio.sleep(0.2)
        self.out(f"（{self.image_wait_s:.0f} 秒内没有收到图片）")
        return False

    async def watch(self, http: aiohttp.ClientSession) -> None:
        """Keep printing what the bot sends (while the user types): cancelled by the caller."""
        while True:
            await asyncio.sleep(0.5)
            await self.print_new(http)

    async def _xml(self, http: aiohttp.ClientSession, line: str) -> str | None:
        command, _, arg = line.partition(" ")
        if command in ("/图片", "/photo"):
            path = Path(arg.strip())
            if not path.is_file():
                self.out(f"（找不到图片 {path}）")
                return None
            data = base64.b64encode(path.read_bytes()).decode()
            media = await self._control(http, "user_media", {"appid": self.appid, "data": data})
            return image_xml(self.openid, media["media_id"])
        if command in ("/菜单", "/menu"):
            return event_xml(self.openid, "CLICK", arg.strip())
        if command in ("/关注", "/subscribe"):
            return event_xml(self.openid, "subscribe")
        return text_xml(self.openid, line)

    async def _control(
        self, http: aiohttp.ClientSession, action: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        async with http.post(f"{self.api_base}/_fake/{action}", json=body) as resp:
            resp.raise_for_status()
            answer: dict[str, Any] = await resp.json()
            return answer

    async def sent(self, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        """Everything the fake WeChat received for this user, oldest first."""
        params = {"touser": self.openid}
        async with http.get(f"{self.api_base}/_fake/sent", params=params) as resp:
            resp.raise_for_status()
            sent: list[dict[str, Any]] = await resp.json()
            return sent


def is_image(message: dict[str, Any]) -> bool:
    return message["kind"] == "custom" and message["payload"].get("msgtype") == "image"


def describe(message: dict[str, Any]) -> str:
    """One message the fake received, as the user would see it."""
    payload = message["payload"]
    if message["kind"] == "custom":
        msgtype = payload.get("msgtype")
        if msgtype == "text":
            return f"{BOT}：{payload['text']['content']}"
        if msgtype == "image":
            return f"{BOT}：[图片 {payload['image']['media_id'][:12]}…]"
        return f"{BOT}：[{msgtype}]"
    values = "；".join(
        str(v.get("value", v)) if isinstance(v, dict) else str(v)
        for v in (payload.get("data") or {}).values()
    )
    label = "模板消息" if message["kind"] == "template" else "订阅消息"
    link = payload.get("url") or payload.get("page") or ""
    return f"{BOT}：[{label}] {values}" + (f"（{link}）" if link else "")


async def run_simulator(sim: Simulator, lines: Iterable[str] | None) -> int:
    """Send `lines` (scripted), or read lines from the terminal until /退出 or end of input."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await sim.start(http)
        if lines is not None:
            ok = True
            for line in lines:
                if line.strip():
                    sim.out(f"{PROMPT}{line.strip()}")
                    ok = await sim.say(http, line) and ok
            return 0 if ok else 1
        sim.out(f"模拟用户 {sim.openid} 已关注公众号。输入消息与机器人对话，/退出 结束。")
        while True:
            watcher = asyncio.create_task(sim.watch(http))
            try:
                line = await asyncio.to_thread(_read_line)
            finally:
                watcher.cancel()
            if line is None or line.strip() in ("/退出", "/quit"):
                return 0
            if line.strip():
                await sim.say(http, line)


def _read_line() -> str | None:
    try:
        return input(PROMPT)
    except EOFError:
        return None


def script_lines(path: str) -> list[str]:
    """A script file: one message per line; lines starting with # are comments."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
