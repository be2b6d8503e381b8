"""Issued files kept in the database, so that every node reaches them (STORAGE=postgres).

A file's name points at a content-addressed blob (its SHA-256), kept as numbered chunks so
that a download streams it one chunk at a time.
"""

from tortoise import fields
from tortoise.models import Model


class StoredFile(Model):
    name = fields.CharField(max_length=200, primary_key=True)  # e.g. "YX2026….pdf"
    sha256 = fields.CharField(max_length=64, db_index=True)
    size = fields.BigIntField()
    chunks = fields.IntField()
    stored_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stored_file"
        table_description = "Names of issued files and the blob each one holds."


class BlobChunk(Model):
    id = fields.BigIntField(primary_key=True)
    sha256 = fields.CharField(max_length=64)
    seq = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "blob_chunk"
        unique_together = (("sha256", "seq"),)
        table_description = "Content-addressed blobs (by SHA-256), in chunks read one at a time."
