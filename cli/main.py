"""The parser, built from each command group's `register`, and the one place settings are read."""

from __future__ import annotations

import argparse
import sys
import warnings

from cli import (
    audit,
    bot,
    configuration,
    database,
    departments,
    operators,
    ops,
    reports,
    serve,
    staff,
    storage,
    worker,
)
from cli.common import load_settings
from config.logging import setup_logging
from config.settings import Settings, SettingsError

DESCRIPTION = "YuCredit's one entry point: the service, its workers, and the operators' commands."
GROUPS = (
    serve, worker, database, reports, departments, operators, staff, audit, ops, bot,
    configuration, storage,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def setup_console_logging(settings: Settings) -> None:
    """Log at settings.log_level (LOG_LEVEL), personal data masked on every line."""
    from services.masking import MaskingFilter

    setup_logging(settings.log_level, filters=(MaskingFilter(),))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The one third-party warning pyproject.toml's test filters also name (pyHanko importing DSA
    # under cryptography 51): kept off the console of every command, and nothing else is hidden.
    warnings.filterwarnings(
        "ignore", "DSA is deprecated", UserWarning, r"pyhanko\.sign\.signers\.pdf_cms"
    )
    try:
        settings = load_settings()
        setup_console_logging(settings)
    except (SettingsError, ValueError) as exc:  # setLevel refuses an unknown level name
        print(f"错误：配置有误（{exc}）", file=sys.stderr)
        return 2
    code: int = args.func(args, settings)
    return code
