"""Objections (异议) and their event history."""

from tortoise import fields
from tortoise.models import Model

from models.enums import Channel, ObjectionKind, ObjectionResolution, ObjectionStatus


class Objection(Model):
    id = fields.BigIntField(primary_key=True)
    ticket_no = fields.CharField(max_length=32, unique=True)
    query_code = fields.CharField(max_length=16)
    enterprise = fields.ForeignKeyField(
        "models.Enterprise", related_name="objections", on_delete=fields.RESTRICT
    )
    report = fields.ForeignKeyField(
        "models.Report", related_name="objections", on_delete=fields.RESTRICT, null=True
    )
    record = fields.ForeignKeyField(
        "models.Record", related_name="objections", on_delete=fields.RESTRICT, null=True
    )
    domain = fields.ForeignKeyField(
        "models.Domain", related_name="objections", on_delete=fields.RESTRICT, null=True
    )
    kind = fields.CharEnumField(ObjectionKind, max_length=16)
    text = fields.TextField()
    attachments = fields.JSONField(default=list)
    status = fields.CharEnumField(ObjectionStatus, max_length=16, default=ObjectionStatus.SUBMITTED)
    department = fields.ForeignKeyField(
        "models.Department", related_name="objections", on_delete=fields.RESTRICT
    )
    submitted_by = fields.ForeignKeyField(
        "models.User", related_name="objections", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharEnumField(Channel, max_length=16, default=Channel.MINIPROGRAM)
    resolution = fields.CharEnumField(ObjectionResolution, max_length=16, null=True)
    accept_due = fields.DateField()
    resolve_due = fields.DateField()
    accepted_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "objection"
        indexes = (("department_id", "status"), ("enterprise_id", "created_at"))


class ObjectionEvent(Model):
    id = fields.BigIntField(primary_key=True)
    objection = fields.ForeignKeyField("models.Objection", related_name="events")
    actor = fields.CharField(max_length=64)
    action = fields.CharField(max_length=32)
    from_status = fields.CharEnumField(ObjectionStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(ObjectionStatus, max_length=16)
    # Set when a ticket is handed over: the department that holds it afterwards.
    handed_to = fields.ForeignKeyField(
        "models.Department", related_name="handovers", on_delete=fields.RESTRICT, null=True
    )
    note = fields.TextField(default="")
    attachments = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "objection_event"
