"""WeChat identities and the enterprises they may act for."""

from tortoise import fields
from tortoise.models import Model

from models.enums import BindingRole, Channel, NotificationStatus


class User(Model):
    id = fields.BigIntField(primary_key=True)
    mp_openid = fields.CharField(max_length=64, unique=True, null=True)  # mini-program
    oa_openid = fields.CharField(max_length=64, unique=True, null=True)  # Official Account
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    # A legal person logged in on the web site through OpenID Connect: the keyed hash of the
    # provider's issuer and subject (a real provider's subject may be an ID number).
    web_subject = fields.CharField(max_length=64, unique=True, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)
    # When the user last wrote to the Official Account: customer-service messages may only be
    # sent within 48 hours of it.
    oa_last_message_at = fields.DatetimeField(null=True)

    class Meta:
        table = "app_user"


class Binding(Model):
    """A user acting for an enterprise, as its legal representative or as an authorised agent.

    An agent authorisation starts without a user: the legal representative gets a one-time code
    (only its keyed hash is kept here), and the agent redeems it in the mini-program or the bot.
    """

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="bindings", null=True)
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="bindings")
    role = fields.CharEnumField(BindingRole, max_length=32)
    scopes = fields.JSONField(default=list)  # "reports", "objections"
    agent_name = fields.CharField(max_length=64, null=True)
    agent_phone_encrypted = fields.TextField(null=True)  # Fernet; shown masked as 138****5678
    granted_by = fields.ForeignKeyField("models.User", related_name="granted_bindings", null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    invite_code_hash = fields.CharField(max_length=64, unique=True, null=True)
    redeemed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "binding"
        unique_together = (("user", "enterprise"),)


class Operator(Model):
    """A service-hall window or self-service terminal that requests reports for walk-in clients.

    Only the SHA-256 of its key is stored (the key carries 240 random bits).
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    channel = fields.CharEnumField(Channel, max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    display = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "operator"


class SubscriptionGrant(Model):
    """One-time subscribe-message grants a user has left per template.

    WeChat exposes no API to read this count, so it is kept here: +1 per grant, -1 per send.
    """

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="subscription_grants")
    template_id = fields.CharField(max_length=64)
    remaining = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subscription_grant"
        unique_together = (("user", "template_id"),)


class Notification(Model):
    """One message owed to a user, keyed so that a redelivered job never sends it twice."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=128, unique=True)  # e.g. "objection-event:42"
    user = fields.ForeignKeyField("models.User", related_name="notifications", null=True)
    channel = fields.CharField(max_length=16, null=True)  # custom / template / subscribe
    status = fields.CharEnumField(NotificationStatus, max_length=16)
    payload = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("status", "created_at"),)
