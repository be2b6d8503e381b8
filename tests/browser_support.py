"""The browser harness: Debian's headless Chromium driven by Playwright, screenshots at a phone's
and a desktop's size, and an axe-core accessibility check.

Chromium comes from the `chromium` Debian package (scripts/bootstrap.sh); Playwright is told its
path, so nothing is downloaded (never run `playwright install`). axe-core comes from npm through
package-lock.json (`npm ci` in bootstrap). Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING_IMPACTS = ("serious", "critical")


def free_port() -> int:
    """A port nothing listens on, for the application under test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, launched by Playwright from its fixed path."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def phone_context(browser: Browser, user_agent: str | None = None) -> BrowserContext:
    """A phone-sized context; CSP bypassed only so that axe can be injected into the pages."""
    options: dict[str, Any] = {
        "viewport": PHONE,
        "bypass_csp": True,
        "accept_downloads": True,
        "locale": "zh-CN",
    }
    if user_agent:
        options["user_agent"] = user_agent
    return await browser.new_context(**options)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result
        if v["impact"] in BLOCKING_IMPACTS
    ]


async def check_page(page: Page, name: str, directory: Path = SCREENSHOTS) -> None:
    """Screenshots at 390×844 and 1280×800, no horizontal scrolling on the phone, and no
    serious or critical axe-core violation at either width."""
    directory.mkdir(parents=True, exist_ok=True)
    for label, size in (("390x844", PHONE), ("1280x800", DESKTOP)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(directory / f"{name}-{label}.png"), full_page=True)
        if size is PHONE:
            overflow = await page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 390px"
        violations = await axe_violations(page)
        assert violations == [], f"{name} at {label}: {violations}"
    await page.set_viewport_size(PHONE)
