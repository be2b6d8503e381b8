"""WeChat identities and the enterprises they may act for."""

from tortoise import fields
from tortoise.models import Model

from models.enums import BindingRole


class User(Model):
    id = fields.BigIntField(primary_key=True)
    mp_openid = fields.CharField(max_length=64, unique=True, null=True)  # mini-program
    oa_openid = fields.CharField(max_length=64, unique=True, null=True)  # Official Account
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "app_user"


class Binding(Model):
    """A user acting for an enterprise, as its legal representative or as an authorised agent."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="bindings")
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="bindings")
    role = fields.CharEnumField(BindingRole, max_length=32)
    scopes = fields.JSONField(default=list)  # "reports", "objections"
    agent_name = fields.CharField(max_length=64, null=True)
    agent_phone_encrypted = fields.TextField(null=True)  # Fernet; shown masked as 138****5678
    granted_by = fields.ForeignKeyField("models.User", related_name="granted_bindings", null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "binding"
        unique_together = (("user", "enterprise"),)
