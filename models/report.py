"""Issued reports (专项信用报告（上市版）)."""

from tortoise import fields
from tortoise.models import Model

from models.enums import Channel, ReportPurpose, ReportStatus


class Report(Model):
    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)  # e.g. YX20261127000123
    verify_code = fields.CharField(max_length=16)
    enterprise = fields.ForeignKeyField(
        "models.Enterprise", related_name="reports", on_delete=fields.RESTRICT
    )
    related_enterprise_ids = fields.JSONField(default=list)
    domains = fields.JSONField()  # domain numbers, ascending
    span_from = fields.DateField()
    span_to = fields.DateField()
    purpose = fields.CharEnumField(ReportPurpose, max_length=16)
    channel = fields.CharEnumField(Channel, max_length=16)
    requester = fields.ForeignKeyField("models.User", related_name="reports", null=True)
    operator = fields.CharField(max_length=64, null=True)  # hall / terminal operator
    status = fields.CharEnumField(ReportStatus, max_length=16, default=ReportStatus.PENDING)
    failure_reason = fields.TextField(null=True)
    snapshot = fields.JSONField(null=True)  # canonical JSON of what the report shows
    snapshot_sha256 = fields.CharField(max_length=64, null=True)
    signature = fields.CharField(max_length=128, null=True)  # Ed25519, hex
    # The key that signed the canonical snapshot bytes; None: an older report whose signature is
    # over the raw 32-byte SHA-256 of those bytes (services.reports.signing, LEGACY_SCHEME).
    signing_key_id = fields.CharField(max_length=32, null=True)
    pdf_sha256 = fields.CharField(max_length=64, null=True)  # of the sealed file, for verifiers
    pdf_path = fields.CharField(max_length=255, null=True)
    png_path = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    ready_at = fields.DatetimeField(null=True)

    class Meta:
        table = "report"
        indexes = (("enterprise_id", "created_at"),)
