"""The walkthrough of docs/miniprogram-api.md, end to end: `run.py serve --with-workers
--with-fake-wechat` on seeded demo data, a code minted by the fake's control API, login, binding
with the demo legal representative's ID number, a report asked for and polled until its links
are there."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from models.enterprise import Enterprise
from services.demo.seed import demo_id_number
from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_readme_walkthrough_issues_a_report(db, database_url: str, tmp_path: Path):
    port, wechat_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "WECHAT_API_BASE": f"http://127.0.0.1:{wechat_port}",
           "REPORTS_DIR": str(tmp_path / "reports"),
           "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env")}  # fmt: skip
    seed = subprocess.run(
        [sys.executable, "run.py", "seed", "--enterprises", "20", "--records", "200", "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert seed.returncode == 0, seed.stderr
    demo = await Enterprise.get(id=1)
    server = subprocess.Popen(
        [sys.executable, "run.py", "serve", "--port", str(port), "--with-workers", "1",
         "--with-fake-wechat"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await _until_up(http, f"{base}/healthz")
            r = await http.post(f"http://127.0.0.1:{wechat_port}/_fake/js_code",
                                json={"openid": "o_demo_user"})  # fmt: skip
            code = (await r.json())["code"]
            r = await http.post(f"{base}/api/mp/login", json={"code": code})
            assert r.status == 200, await r.text()
            auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
            bind = {"uscc": demo.uscc, "enterprise_name": demo.name, "legal_rep_name":
                    demo.legal_rep_name, "id_number": demo_id_number(7, 0)}  # fmt: skip
            r = await http.post(f"{base}/api/mp/bindings", json=bind, headers=auth)
            assert r.status == 201, await r.text()
            r = await http.post(f"{base}/api/mp/reports", headers=auth,
                                json={"uscc": demo.uscc, "domains": [13, 27, 37]})  # fmt: skip
            assert r.status == 202, await r.text()
            report_id = (await r.json())["id"]
            for _ in range(300):
                r = await http.get(f"{base}/api/mp/reports/{report_id}", headers=auth)
                body = await r.json()
                if body["status"] in ("ready", "failed"):
                    break
                await asyncio.sleep(0.1)
            assert body["status"] == "ready", body
            r = await http.get(body["pdf_url"])
            assert r.status == 200 and (await r.read()).startswith(b"%PDF")
            r = await http.get(body["verify_url"], headers={"Accept": "application/json"})
            assert (await r.json())["genuine"] is True
    finally:
        server.terminate()
        server.wait(20)


async def _until_up(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with http.get(url) as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not come up")
