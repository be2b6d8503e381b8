"""Persistence (Tortoise ORM). Every model module is listed in MODEL_MODULES."""

MODEL_MODULES = [
    "models.catalogue",
    "models.enterprise",
    "models.record",
    "models.report",
    "models.objection",
    "models.user",
    "models.audit",
    "models.department_key",
    "models.ingest_batch",
    "models.record_version",
    "models.signing_key",
    "models.staff",
    "models.stored_file",
]
