"""What every command shares: the settings, a database for the command's work, refusals."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from config.secrets import environment_with_dev_secrets
from config.settings import Settings

T = TypeVar("T")

Command = Callable[[argparse.Namespace, Settings], int]
# What `add_subparsers()` returns: a group's commands are added to it.
Commands = argparse._SubParsersAction


def load_settings() -> Settings:
    """Environment first; on the embedded default, generated dev secrets fill the gaps."""
    return Settings.from_env(environment_with_dev_secrets())


def command(commands: Commands, name: str, run: Command, help_: str) -> argparse.ArgumentParser:
    """Add the command `name`, run by `run`; the caller adds its arguments."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_)
    parser.set_defaults(func=run)
    return parser


def group(commands: Commands, name: str, help_: str) -> Commands:
    """Add `name` as a group of commands (`run.py NAME COMMAND ...`)."""
    return commands.add_parser(name, help=help_).add_subparsers(dest=name, required=True)


def with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in an event loop of its own, with the database open around it."""
    from infra.db import database

    async def go() -> T:
        async with database(settings.database_url):
            return await work()

    return asyncio.run(go())


def refuse(message: str) -> int:
    """Say why the command cannot do it, on stderr, and give the exit status of a refusal."""
    print(f"错误：{message}", file=sys.stderr)
    return 2
