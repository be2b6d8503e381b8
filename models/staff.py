"""Staff accounts (工作人员账号): one per person, for the department, hall and ops consoles."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.catalogue import Department
from models.objection import Objection
from models.report import Report
from models.user import Operator


class StaffRole(StrEnum):
    """What a person may do, and where: a department's, a hall's, or the whole service's."""

    DEPT_VIEWER = "dept_viewer"  # reads the department's tickets and records
    DEPT_HANDLER = "dept_handler"  # answers objections
    DEPT_ADMIN = "dept_admin"  # also manages the department's API keys
    WINDOW_OPERATOR = "window_operator"  # a service-hall window (窗口)
    HALL_ADMIN = "hall_admin"
    OPS = "ops"


DEPARTMENT_ROLES = frozenset({StaffRole.DEPT_VIEWER, StaffRole.DEPT_HANDLER, StaffRole.DEPT_ADMIN})
HALL_ROLES = frozenset({StaffRole.WINDOW_OPERATOR, StaffRole.HALL_ADMIN})

ROLE_LABELS = {
    StaffRole.DEPT_VIEWER: "部门查看员",
    StaffRole.DEPT_HANDLER: "部门经办人",
    StaffRole.DEPT_ADMIN: "部门管理员",
    StaffRole.WINDOW_OPERATOR: "窗口工作人员",
    StaffRole.HALL_ADMIN: "服务大厅管理员",
    StaffRole.OPS: "运维人员",
}


class StaffAccount(Model):
    """A person who signs in with a password and a TOTP code.

    Only the scrypt hash of the password is kept, and the TOTP secret only Fernet-encrypted.
    `totp_last_step` is the time step of the last code accepted: a code is good once.
    """

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=32)  # 姓名, shown on pages and in the audit trail
    role = fields.CharEnumField(StaffRole, max_length=16)
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="staff", null=True, on_delete=fields.RESTRICT
    )
    department_id: int | None
    hall = fields.CharField(max_length=64, null=True)  # e.g. 渝中区政务服务中心
    # A window operator's window: the operator its reports are requested as (channel hall).
    operator: fields.ForeignKeyNullableRelation[Operator] = fields.ForeignKeyField(
        "models.Operator", related_name="staff", null=True, on_delete=fields.RESTRICT
    )
    operator_id: int | None
    password_hash = fields.CharField(max_length=255)
    totp_secret_encrypted = fields.TextField()
    totp_last_step = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    disabled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_account"


class ObjectionClaim(Model):
    """认领: the person of the ticket's department who works on it. A hand-over ends it."""

    id = fields.IntField(primary_key=True)
    objection: fields.OneToOneRelation[Objection] = fields.OneToOneField(
        "models.Objection", related_name="claim", on_delete=fields.CASCADE
    )
    staff: fields.ForeignKeyRelation[StaffAccount] = fields.ForeignKeyField(
        "models.StaffAccount", related_name="claims", on_delete=fields.CASCADE
    )
    claimed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "objection_claim"


class ReportHandover(Model):
    """交付: who collected a report printed at a window, their ID number only as a keyed hash."""

    id = fields.IntField(primary_key=True)
    report: fields.ForeignKeyRelation[Report] = fields.ForeignKeyField(
        "models.Report", related_name="handovers", on_delete=fields.CASCADE
    )
    staff: fields.ForeignKeyRelation[StaffAccount] = fields.ForeignKeyField(
        "models.StaffAccount", related_name="handovers", on_delete=fields.RESTRICT
    )
    collector_name = fields.CharField(max_length=32)
    collector_id_hash = fields.CharField(max_length=64)  # HMAC under ID_HASH_KEY
    handed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_handover"
