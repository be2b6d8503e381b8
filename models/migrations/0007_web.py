from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_verify')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='web_subject',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
    ]
