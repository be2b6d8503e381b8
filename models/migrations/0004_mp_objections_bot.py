from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.enums import Channel, NotificationStatus, ObjectionResolution
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_report_pdf_sha256')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=128)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(null=True, max_length=16)),
                ('status', fields.CharEnumField(description='PENDING: pending\nSENDING: sending\nSENT: sent\nHELD: held\nFAILED: failed', enum_type=NotificationStatus, max_length=16)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One message owed to a user, keyed so that a redelivered job never sends it twice.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operator',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('channel', fields.CharEnumField(description='MINIPROGRAM: miniprogram\nBOT: bot\nWEB: web\nHALL: hall\nTERMINAL: terminal', enum_type=Channel, max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('display', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'operator', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A service-hall window or self-service terminal that requests reports for walk-in clients.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SubscriptionGrant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='subscription_grants', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.CharField(max_length=64)),
                ('remaining', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'subscription_grant', 'app': 'models', 'unique_together': (('user', 'template_id'),), 'pk_attr': 'id', 'table_description': 'One-time subscribe-message grants a user has left per template.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Binding',
            name='user',
            field=fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Binding',
            name='invite_code_hash',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='Binding',
            name='redeemed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Objection',
            name='accepted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Objection',
            name='channel',
            field=fields.CharEnumField(default=Channel.MINIPROGRAM, description='MINIPROGRAM: miniprogram\nBOT: bot\nWEB: web\nHALL: hall\nTERMINAL: terminal', enum_type=Channel, max_length=16),
        ),
        ops.AddField(
            model_name='Objection',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Objection',
            name='resolution',
            field=fields.CharEnumField(null=True, description='CORRECTED: corrected\nUPDATED: updated\nREPAIRED: repaired\nMAINTAINED: maintained\nANSWERED: answered', enum_type=ObjectionResolution, max_length=16),
        ),
        ops.AddField(
            model_name='Objection',
            name='resolved_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Objection',
            name='submitted_by',
            field=fields.ForeignKeyField('models.User', source_field='submitted_by_id', null=True, db_constraint=True, to_field='id', related_name='objections', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='ObjectionEvent',
            name='handed_to',
            field=fields.ForeignKeyField('models.Department', source_field='handed_to_id', null=True, db_constraint=True, to_field='id', related_name='handovers', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='User',
            name='oa_last_message_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
