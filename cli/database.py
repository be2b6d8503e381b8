"""`migrate` and `seed`: the database's schema and catalogue, and the demo data."""

from __future__ import annotations

import argparse

from cli.common import Commands, command, refuse, with_database
from config.settings import Settings


def register(commands: Commands) -> None:
    command(
        commands, "migrate", run_migrate, "apply database migrations and sync the domain catalogue"
    )
    seed = command(commands, "seed", run_seed, "load deterministic demo data")
    seed.add_argument("--enterprises", type=int, default=2000)
    seed.add_argument("--records", type=int, default=50000)
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--replace", action="store_true", help="replace existing demo data")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if enterprises exist")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from infra.db import database, migrate
    from services.reports.catalogue import sync_catalogue

    async def go() -> None:
        await migrate(settings.database_url)
        async with database(settings.database_url):
            await sync_catalogue()

    asyncio.run(go())
    print("数据库已迁移到最新版本，40个领域目录已同步。")
    return 0


def run_seed(args: argparse.Namespace, settings: Settings) -> int:
    from services.demo.seed import SeedResult, database_has_enterprises, seed_demo
    from services.errors import ServiceError

    async def go() -> SeedResult | None:
        if args.if_empty and await database_has_enterprises():
            return None
        return await seed_demo(
            enterprises=args.enterprises,
            records=args.records,
            seed=args.seed,
            id_hash_key=settings.id_hash_key,
            replace=args.replace,
            progress=not args.quiet,
        )

    try:
        result = with_database(settings, go)
    except ServiceError as exc:
        return refuse(exc.message)
    if result is None:
        print("数据库已有企业数据，跳过演示数据生成。")
        return 0
    print(
        f"{result.status}: {result.enterprises} enterprises, {result.relations} relations, "
        f"{result.records} records in {result.elapsed:.1f}s; fingerprint {result.fingerprint}"
    )
    return 0
