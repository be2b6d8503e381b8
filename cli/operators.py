"""`operator`: the keys of service-hall windows and self-service terminals."""

from __future__ import annotations

import argparse

from cli.common import Commands, command, group, refuse, with_database
from config.settings import Settings


def register(commands: Commands) -> None:
    operator = group(commands, "operator", "service-hall windows and terminals")
    create = command(operator, "create", run_create, "print a new operator key, once")
    create.add_argument("name", help="e.g. 渝中区政务服务中心-3号窗口")
    create.add_argument("--channel", choices=["hall", "terminal"], required=True)


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    from services.accounts.operators import create_operator
    from services.errors import ServiceError

    try:
        new = with_database(settings, lambda: create_operator(args.name, args.channel))
    except ServiceError as exc:
        return refuse(exc.message)
    label = "窗口" if new.channel == "hall" else "自助终端"
    print(f"{label}操作员 {new.name} 的密钥（编号 {new.id}，只显示这一次，请妥善保存）：")
    print(new.key)
    return 0
