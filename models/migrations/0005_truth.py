from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import PenaltyProcedure
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('models', '0004_mp_objections_bot')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Record',
            name='procedure',
            field=fields.CharEnumField(description='ORDINARY: ordinary\nSIMPLE: simple\nUNSTATED: unstated', enum_type=PenaltyProcedure, null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Record',
            name='status_date',
            field=fields.DateField(null=True),
        ),
        # Penalties stored before the field existed never said which procedure they followed.
        ops.RunSQL(
            "UPDATE record SET procedure = 'unstated' WHERE kind = 'administrative_penalty'",
            reverse_sql="UPDATE record SET procedure = NULL",
        ),
    ]
