"""The audit trail: append-only, each entry chained to the previous one by its hash."""

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=64)
    action = fields.CharField(
        max_length=48
    )  # report.issued, report.downloaded, report.verified, ...
    object_type = fields.CharField(max_length=32)
    object_id = fields.CharField(max_length=64)
    detail = fields.JSONField(default=dict)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "audit_entry"
        indexes = (("object_type", "object_id"),)
