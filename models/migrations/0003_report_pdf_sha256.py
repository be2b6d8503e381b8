from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_ingestion')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Report',
            name='pdf_sha256',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
