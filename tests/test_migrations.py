"""Schema changes go through migrations: the models and models/migrations must agree."""

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from infra.db import tortoise_config


async def test_models_have_no_changes_missing_from_the_migrations(db):
    config = tortoise_config(db)
    autodetector = MigrationAutodetector(Tortoise.apps, config["apps"])
    writers = await autodetector.changes()
    assert writers == [], [w.name for w in writers]


async def test_the_report_query_index_exists(db):
    conn = Tortoise.get_connection("default")
    if db.startswith("sqlite"):
        rows = await conn.execute_query_dict("PRAGMA index_info('record_report_idx')")
        columns = [r["name"] for r in rows]
    else:
        rows = await conn.execute_query_dict(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'record_report_idx'"
        )
        columns = rows[0]["indexdef"].split("(")[1].rstrip(")").replace(" ", "").split(",")
    assert columns == ["enterprise_id", "domain_id", "decision_date"]


async def test_penalties_stored_before_procedures_migrate_as_unstated(tmp_path):
    import sqlite3

    from tortoise.context import TortoiseContext
    from tortoise.migrations.api import migrate as run_migrations

    url = f"sqlite://{tmp_path / 'before.db'}"
    async with TortoiseContext():
        await run_migrations(config=tortoise_config(url), target="models.0004_mp_objections_bot")
    with sqlite3.connect(tmp_path / "before.db") as conn:
        conn.execute("PRAGMA foreign_keys = OFF")  # only the record table matters here
        conn.executemany(
            "INSERT INTO record (enterprise_id, domain_id, department_id, source_ref, kind,"
            " decision_no, authority, decision_date, summary, status, version, content_hash,"
            " pushed_at) VALUES (1, 27, 1, ?, ?, '渝1号', '局', '2024-03-15', '摘要',"
            " 'in_force', 1, 'h', '2024-03-18T00:00:00+00:00')",
            [("P", "administrative_penalty"), ("E", "administrative_enforcement")],
        )
    async with TortoiseContext():
        await run_migrations(config=tortoise_config(url))
    with sqlite3.connect(tmp_path / "before.db") as conn:
        stored = dict(conn.execute("SELECT source_ref, procedure FROM record").fetchall())
    assert stored == {"P": "unstated", "E": None}
