"""Every version of every record, in an append-only hash-chained log (历史版本，只增不改)."""

from tortoise import fields
from tortoise.models import Model


class RecordVersion(Model):
    # The entry's position in the log, assigned under the log's lock: consecutive from 1, so a
    # deleted entry shows as a gap.
    id = fields.BigIntField(primary_key=True, generated=False)
    # A plain column, not a foreign key, on purpose: the log must outlive what it describes. A
    # record deleted behind the API's back leaves its history here, and `audit verify` names it
    # (the demo seed's --replace can empty the record table all the same). Not checking it also
    # spares every insert a lock on its record row: an eighth of the write time.
    record_id = fields.BigIntField()
    version = fields.IntField()
    # The canonical JSON that content_hash covers (services.ingest.content), stored verbatim.
    content = fields.TextField()
    content_hash = fields.CharField(max_length=64)
    batch_id = fields.BigIntField(null=True)  # the IngestBatch that wrote it (never deleted)
    recorded_at = fields.DatetimeField()
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "record_version"
        # One row per version: two concurrent pushes can never both write version n.
        unique_together = (("record_id", "version"),)
