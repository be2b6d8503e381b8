"""Snapshot signing keys (报告签名公钥): every key ever used, kept published after rotation."""

from tortoise import fields
from tortoise.models import Model


class SigningKey(Model):
    # The first 16 hex digits of the SHA-256 of the raw 32-byte Ed25519 public key.
    key_id = fields.CharField(max_length=32, primary_key=True)
    public_key = fields.CharField(max_length=64)  # raw 32 bytes, base64
    valid_from = fields.DatetimeField()
    valid_to = fields.DatetimeField(null=True)  # set when another key takes over

    class Meta:
        table = "signing_key"
        table_description = "Every key that ever signed report snapshots, for /verify/keys.json."
