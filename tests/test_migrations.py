"""Schema changes go through migrations: the models and models/migrations must agree."""

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from services.db import tortoise_config


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
