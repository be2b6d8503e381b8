"""Violation records (违法违规信息) pushed by departments."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.enums import PenaltyProcedure, RecordKind, RecordStatus


class Record(Model):
    id = fields.BigIntField(primary_key=True)
    enterprise = fields.ForeignKeyField(
        "models.Enterprise", related_name="records", on_delete=fields.RESTRICT
    )
    domain = fields.ForeignKeyField(
        "models.Domain", related_name="records", on_delete=fields.RESTRICT
    )
    department = fields.ForeignKeyField(
        "models.Department", related_name="records", on_delete=fields.RESTRICT
    )
    # The department's own reference: (department, source_ref) makes pushes idempotent.
    source_ref = fields.CharField(max_length=64)
    kind = fields.CharEnumField(RecordKind, max_length=32)
    # 普通程序 / 简易程序 of an administrative penalty; null for every other kind.
    procedure = fields.CharEnumField(PenaltyProcedure, max_length=16, null=True)
    decision_no = fields.CharField(max_length=64)  # 决定书文号
    authority = fields.CharField(max_length=128)  # 作出决定的机关
    decision_date = fields.DateField()
    summary = fields.TextField()
    status = fields.CharEnumField(RecordStatus, max_length=16, default=RecordStatus.IN_FORCE)
    # When the current status took effect (修复、撤销…), as the department stated it.
    status_date = fields.DateField(null=True)
    version = fields.IntField(default=1)
    content_hash = fields.CharField(max_length=64)
    pushed_at = fields.DatetimeField()

    class Meta:
        table = "record"
        unique_together = (("department_id", "source_ref"),)
        # The report query: one enterprise, some domains, a span of decision dates.
        indexes = (
            Index(fields=("enterprise_id", "domain_id", "decision_date"), name="record_report_idx"),
        )
