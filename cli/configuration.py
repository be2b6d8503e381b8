"""`domains` and `check`: what this deployment is configured with, the catalogue and settings."""

from __future__ import annotations

import argparse

from cli.common import Commands, command
from cli.tables import column_widths, pad
from config.catalogue import DOMAINS, department_names
from config.settings import Settings


def register(commands: Commands) -> None:
    command(commands, "domains", run_domains, "print the 40-domain catalogue")
    command(commands, "check", run_check, "print the settings, secrets redacted")


def format_domains_table() -> str:
    """The 40-domain catalogue as an aligned terminal table (CJK counted double-width)."""
    header = ("序号", "领域", "责任部门", "核查事项")
    rows = [
        (
            str(d.number),
            d.name + ("（含欠缴）" if d.checks_arrears else ""),
            department_names(d),
            d.check_text,
        )
        for d in DOMAINS
    ]
    widths = column_widths([header, *rows], 3)  # the check text, last, is not padded
    lines = [
        "  ".join([*(pad(row[i], widths[i]) for i in range(3)), row[3]]).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 20)
    return "\n".join(lines)


def run_domains(args: argparse.Namespace, settings: Settings) -> int:
    print(format_domains_table())
    return 0


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    shown = settings.redacted()
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        print(f"{key.upper():<{width}}  {value}")
    return 0
