from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_staff')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BlobChunk',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sha256', fields.CharField(max_length=64)),
                ('seq', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'blob_chunk', 'app': 'models', 'unique_together': (('sha256', 'seq'),), 'pk_attr': 'id', 'table_description': 'Content-addressed blobs (by SHA-256), in chunks read one at a time.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StoredFile',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
                ('size', fields.BigIntField()),
                ('chunks', fields.IntField()),
                ('stored_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'stored_file', 'app': 'models', 'pk_attr': 'name', 'table_description': 'Names of issued files and the blob each one holds.'},
            bases=['Model'],
        ),
    ]
