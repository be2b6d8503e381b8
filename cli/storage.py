"""`storage migrate --to fs|postgres`: issued files and objection images moved between stores,
hashes checked."""

from __future__ import annotations

import argparse

from cli.common import Commands, command, group, refuse, with_database
from config.settings import Settings
from infra.storage import AREAS, STORES

AREA_LABELS = {"reports": "报告文件", "objections": "异议附件"}


def register(commands: Commands) -> None:
    storage = group(commands, "storage", "where issued files live")
    migrate = command(
        storage, "migrate", run_migrate, "copy every stored file into another store, verified"
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

    async def go() -> list[Migration]:
        return [
            await migrate_files(
                open_store(settings, source_kind, area), open_store(settings, args.to, area)
            )
            for area in AREAS
        ]

    failed = 0
    for area, done in zip(AREAS, with_database(settings, go), strict=True):
        for name in done.mismatched:
            print(f"校验失败：{area}/{name} 写入 {args.to} 后读回的 SHA-256 与源文件不同")
        label = f"存储迁移 {AREA_LABELS[area]} {source_kind} → {args.to}"
        print(
            f"{label}：复制 {len(done.copied)} 个文件，已存在且一致 {len(done.already_there)} 个，"
            f"校验失败 {len(done.mismatched)} 个"
        )
        failed += len(done.mismatched)
    return 1 if failed else 0
