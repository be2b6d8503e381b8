from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_truth')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Report',
            name='signing_key_id',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.CreateModel(
            name='SigningKey',
            fields=[
                ('key_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('public_key', fields.CharField(max_length=64)),
                ('valid_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_to', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'signing_key', 'app': 'models', 'pk_attr': 'key_id', 'table_description': 'Every key that ever signed report snapshots, for /verify/keys.json.'},
            bases=['Model'],
        ),
    ]
