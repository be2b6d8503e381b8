"""Department API keys (部门接口密钥): only their SHA-256 is stored, never the key itself."""

from tortoise import fields
from tortoise.models import Model


class DepartmentKey(Model):
    id = fields.IntField(primary_key=True)
    department = fields.ForeignKeyField(
        "models.Department", related_name="keys", on_delete=fields.RESTRICT
    )
    # sha256 (hex) of the whole key. Keys carry 240 random bits, so a plain hash suffices: there
    # is nothing to brute-force, and lookups stay an index probe.
    key_hash = fields.CharField(max_length=64, unique=True)
    # The key's first characters, e.g. "yc_samr_Q3xv", so that people can tell keys apart.
    display = fields.CharField(max_length=64)
    label = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "department_key"
