"""The verify page for a clerk: three states, seen in headless Chromium at 390x844.

The screenshots are written to var/screenshots/ (verify-good.png, verify-changed.png,
verify-not-found.png) on every run, for a person to look at; the test reads their colours.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from PIL import Image
from redis.asyncio import Redis

from config.settings import Settings
from handlers.app import create_app
from models.enums import RecordStatus
from models.record import Record
from tests.test_reports import NAME, USCC, issued

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The verdict banner's background, by state (handlers/templates/verify.html).
BANNER = {"good": (232, 245, 233), "changed": (255, 248, 225), "not-found": (255, 235, 238)}


def screenshot(url: str, out: Path) -> Image.Image:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--window-size=390,844",
         f"--screenshot={out}", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return Image.open(out).convert("RGB")


def banner_colour(image: Image.Image) -> tuple[int, int, int]:
    """The commonest colour in the band just under the header, where the verdict sits."""
    band = image.crop((20, 70, 370, 110))
    colours = band.getcolors(maxcolors=100_000) or []
    return max(colours)[1]


async def test_the_three_states_read_correctly_at_390_by_844(
    aiohttp_server, settings: Settings, db: str, redis: Redis
):
    report = await issued(settings, redis, domains="1,15,37")
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    page = f"{base}/verify/{report.number}?c={report.verify_code}"

    html = await server_get(base, f"/verify/{report.number}?c={report.verify_code}")
    for text in ("报告真实有效，出具后数据未变化", "核验时间", "上市", NAME, USCC, "申请企业",
                 "查见违法违规信息 1 条", "截至2026年11月20日未查见", "2021年1月1日 至",
                 "crypto.subtle.digest"):  # fmt: skip
        assert text in html, text
    good = await asyncio.to_thread(screenshot, page, SHOTS / "verify-good.png")

    await Record.filter(source_ref="ECO-1").update(status=RecordStatus.REPAIRED)
    changed_html = await server_get(base, f"/verify/{report.number}?c={report.verify_code}")
    assert "报告真实，但出具后数据已更新" in changed_html
    changed = await asyncio.to_thread(screenshot, page, SHOTS / "verify-changed.png")

    missing_url = f"{base}/verify/{report.number}?c=AAAAAAAA"
    assert "未找到该报告" in await server_get(base, f"/verify/{report.number}?c=AAAAAAAA")
    missing = await asyncio.to_thread(screenshot, missing_url, SHOTS / "verify-not-found.png")

    for image, state in ((good, "good"), (changed, "changed"), (missing, "not-found")):
        assert image.size == (390, 844)
        assert banner_colour(image) == BANNER[state], state


async def server_get(base: str, path: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(base + path) as r:
        assert r.headers["Cache-Control"] == "no-store"
        return await r.text()
