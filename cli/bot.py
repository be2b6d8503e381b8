"""`wechat simulate` and `bot understand`: the Official Account bot from the terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from cli.common import Commands, command, group, refuse
from config.settings import Settings


def register(commands: Commands) -> None:
    wechat = group(commands, "wechat", "the Official Account bot")
    simulate = command(
        wechat,
        "simulate",
        run_simulate,
        "chat with the bot from the terminal (through the fake WeChat server)",
    )
    simulate.add_argument("--url", default=None, help="the app (default: PUBLIC_BASE_URL)")
    simulate.add_argument("--openid", default=None, help="the simulated user (default: random)")
    simulate.add_argument("--say", action="append", default=None, help="send this and exit")
    simulate.add_argument("--script", default=None, help="send each line of FILE (- for stdin)")
    simulate.add_argument("--plain", action="store_true", help="plain mode instead of safe mode")
    simulate.add_argument(
        "--quiet", type=float, default=1.5, help="seconds of silence after which the bot is done"
    )
    bot = group(commands, "bot", "the bot's understanding")
    understand = command(
        bot,
        "understand",
        run_understand,
        "print the intent and slots of each text, one JSON object per line",
    )
    understand.add_argument("text", nargs="*", help="texts to understand")
    understand.add_argument("--file", default=None, help="one text per line (- for stdin)")


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Chat with the bot as a WeChat user would, through /wechat and the fake WeChat server."""
    from fakes.wechat_push import PushSigner
    from fakes.wechat_simulate import Simulator, run_simulator, script_lines

    sim = Simulator(
        app_url=(args.url or settings.public_base_url).rstrip("/"),
        api_base=settings.wechat_api_base.rstrip("/"),
        signer=PushSigner(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id),
        appid=settings.wechat_app_id,
        encrypt=not args.plain,
        quiet_s=args.quiet,
    )
    if args.openid:
        sim.openid = args.openid
    lines = args.say or (script_lines(args.script) if args.script else None)
    try:
        return asyncio.run(run_simulator(sim, lines))
    except OSError as exc:
        return refuse(f"无法连接服务或模拟微信接口（{exc}）")


def run_understand(args: argparse.Namespace, settings: Settings) -> int:
    """One JSON object per line: {"text", "intent", "slots", "answer"}, for each text given."""
    from bot.understand import understand

    texts = list(args.text)
    if args.file:
        source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
        with source:
            texts += [line.rstrip("\n") for line in source if line.strip()]
    if not texts:
        return refuse("请给出要理解的文字，或用 --file 指定文件（每行一句）")
    for text in texts:
        print(json.dumps(understand(text, settings=settings).to_dict(), ensure_ascii=False))
    return 0
