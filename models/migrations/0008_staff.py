from tortoise import migrations
from tortoise.migrations import operations as ops
from models.staff import StaffRole
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_web')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StaffAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=32)),
                ('role', fields.CharEnumField(description='DEPT_VIEWER: dept_viewer\nDEPT_HANDLER: dept_handler\nDEPT_ADMIN: dept_admin\nWINDOW_OPERATOR: window_operator\nHALL_ADMIN: hall_admin\nOPS: ops', enum_type=StaffRole, max_length=16)),
                ('department', fields.ForeignKeyField('models.Department', source_field='department_id', null=True, db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.RESTRICT)),
                ('hall', fields.CharField(null=True, max_length=64)),
                ('operator', fields.ForeignKeyField('models.Operator', source_field='operator_id', null=True, db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.RESTRICT)),
                ('password_hash', fields.CharField(max_length=255)),
                ('totp_secret_encrypted', fields.TextField(unique=False)),
                ('totp_last_step', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_account', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A person who signs in with a password and a TOTP code.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ObjectionClaim',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('objection', fields.OneToOneField('models.Objection', source_field='objection_id', db_constraint=True, to_field='id', related_name='claim', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('models.StaffAccount', source_field='staff_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.CASCADE)),
                ('claimed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'objection_claim', 'app': 'models', 'pk_attr': 'id', 'table_description': "认领: the person of the ticket's department who works on it. A hand-over ends it."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportHandover',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('models.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='handovers', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('models.StaffAccount', source_field='staff_id', db_constraint=True, to_field='id', related_name='handovers', on_delete=OnDelete.RESTRICT)),
                ('collector_name', fields.CharField(max_length=32)),
                ('collector_id_hash', fields.CharField(max_length=64)),
                ('handed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_handover', 'app': 'models', 'pk_attr': 'id', 'table_description': '交付: who collected a report printed at a window, their ID number only as a keyed hash.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='IngestBatch',
            name='rejected_rows',
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
