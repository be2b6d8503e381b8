"""`storage migrate --to fs|postgres`: issued files moved between stores, hashes checked."""

from __future__ import annotations

import argparse

from cli.common import Commands, command, group, refuse, with_database
from config.settings import Settings
from infra.storage import STORES


def register(commands: Commands) -> None:
    storage = group(commands, "storage", "where issued files live")
    migrate = command(
        storage, "migrate", run_migrate, "copy every issued file into another store, verified"
    )
    migrate.add_argument("--to", required=True, choices=STORES, help="the target store")
    migrate.add_argument(
        "--from", dest="source", choices=STORES, default=None,
        help="the source store (default: the one STORAGE names)",
    )  # fmt: skip


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from infra.storage import open_store, store_kind
    from infra.storage_migrate import Migration, migrate_files

    source_kind = args.source or store_kind(settings)
    if source_kind == args.to:
        return refuse(f"源存储与目标存储相同（{args.to}），无需迁移；请用 --from 指定源存储")

    async def go() -> Migration:
        return await migrate_files(open_store(settings, source_kind), open_store(settings, args.to))

    done = with_database(settings, go)
    for name in done.mismatched:
        print(f"校验失败：{name} 写入 {args.to} 后读回的 SHA-256 与源文件不同")
    print(
        f"存储迁移 {source_kind} → {args.to}：复制 {len(done.copied)} 个文件，"
        f"已存在且一致 {len(done.already_there)} 个，校验失败 {len(done.mismatched)} 个"
    )
    return 1 if done.mismatched else 0
