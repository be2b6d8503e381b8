"""Enterprises and their relations (关联企业)."""

from tortoise import fields
from tortoise.models import Model

from models.enums import RelationKind


class Enterprise(Model):
    id = fields.IntField(primary_key=True)
    uscc = fields.CharField(max_length=18, unique=True)  # 统一社会信用代码
    name = fields.CharField(max_length=128)
    legal_rep_name = fields.CharField(max_length=64)
    # HMAC of the legal representative's ID number: the plain number is never stored.
    legal_rep_id_hash = fields.CharField(max_length=64)
    district = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise"


class EnterpriseRelation(Model):
    id = fields.IntField(primary_key=True)
    parent = fields.ForeignKeyField("models.Enterprise", related_name="child_relations")
    child = fields.ForeignKeyField("models.Enterprise", related_name="parent_relations")
    kind = fields.CharEnumField(RelationKind, max_length=32)

    class Meta:
        table = "enterprise_relation"
        unique_together = (("parent", "child", "kind"),)
