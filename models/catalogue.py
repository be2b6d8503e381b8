"""Domains (实施领域) and departments (出证机关), synced from config.catalogue."""

from tortoise import fields
from tortoise.models import Model


class Department(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "department"


class Domain(Model):
    # The annex's 序号, 1..40, is the key: it is what users type and what departments push.
    number = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32)
    check_text = fields.CharField(max_length=128)
    checks_arrears = fields.BooleanField(default=False)

    class Meta:
        table = "domain"


class DomainOwnership(Model):
    # Which departments answer for a domain. lead_order 0 is the lead (牵头) department.
    # (A comment, not a docstring: Tortoise turns docstrings into SQL comments, and its
    # SQLite migration runner splits statements on semicolons.)

    id = fields.IntField(primary_key=True)
    domain = fields.ForeignKeyField("models.Domain", related_name="ownerships")
    department = fields.ForeignKeyField("models.Department", related_name="ownerships")
    lead_order = fields.SmallIntField()

    class Meta:
        table = "domain_ownership"
        unique_together = (("domain", "department"),)
