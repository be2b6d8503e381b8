"""One push of records by a department (批次): what came in, and what became of it."""

from tortoise import fields
from tortoise.models import Model


class IngestBatch(Model):
    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)  # the batch_id in the answer
    department = fields.ForeignKeyField(
        "models.Department", related_name="batches", on_delete=fields.RESTRICT
    )
    channel = fields.CharField(max_length=8)  # api | cli
    content_type = fields.CharField(max_length=64, default="")
    encoding = fields.CharField(max_length=16, default="")
    # receiving -> writing -> done; or refused (nothing written) or failed
    # (docs/department-api.md).
    status = fields.CharField(max_length=16)
    refusal_code = fields.CharField(max_length=48, null=True)
    rows_received = fields.IntField(default=0)
    created = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    unchanged = fields.IntField(default=0)
    rejected = fields.IntField(default=0)
    rejections_by_code = fields.JSONField(default=dict)
    # The first rejected rows (line, field, code, message, source_ref), as the answer listed
    # them: the department console offers them as a CSV.
    rejected_rows = fields.JSONField(default=list)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ingest_batch"
        indexes = (("department_id", "finished_at"),)
