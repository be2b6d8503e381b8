"""Enumerations shared by models and services, each with the Chinese label users see."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Chinese label in LABELS."""

    @property
    def label(self) -> str:
        return _LABELS[type(self).__name__][self.value]


class RecordKind(LabelledEnum):
    ADMINISTRATIVE_PENALTY = "administrative_penalty"
    COURT_JUDGMENT = "court_judgment"
    CRIMINAL_PENALTY = "criminal_penalty"
    ADMINISTRATIVE_ENFORCEMENT = "administrative_enforcement"
    SERIOUS_DISHONESTY = "serious_dishonesty"
    ABNORMAL_OPERATION = "abnormal_operation"
    ARREARS_SOCIAL_INSURANCE = "arrears_social_insurance"
    ARREARS_TAX = "arrears_tax"
    ARREARS_HOUSING_FUND = "arrears_housing_fund"


ARREARS_KINDS = frozenset(
    {
        RecordKind.ARREARS_SOCIAL_INSURANCE,
        RecordKind.ARREARS_TAX,
        RecordKind.ARREARS_HOUSING_FUND,
    }
)


class PenaltyProcedure(LabelledEnum):
    """How an administrative penalty was decided: 89号 counts ordinary-procedure penalties,
    发改财金〔2025〕565号 counts simple-procedure ones too. Rows pushed before the field existed
    say nothing, and read as unstated."""

    ORDINARY = "ordinary"
    SIMPLE = "simple"
    UNSTATED = "unstated"


class RecordStatus(LabelledEnum):
    IN_FORCE = "in_force"
    REPAIRED = "repaired"
    REVOKED = "revoked"


class RelationKind(LabelledEnum):
    """A stored link from `parent` to `child`: both control kinds mean the parent controls the
    child (one names the child's side, one the parent's); branch means the child is its branch."""

    SUBSIDIARY = "subsidiary"
    BRANCH = "branch"
    CONTROLLING_SHAREHOLDER = "controlling_shareholder"


class RelatedRole(LabelledEnum):
    """What a related enterprise is to the report's subject: the label a report prints."""

    CONTROLLING_SHAREHOLDER = "controlling_shareholder"
    SUBSIDIARY = "subsidiary"
    BRANCH = "branch"
    HEAD_OFFICE = "head_office"


def related_role(kind: RelationKind, subject_is_parent: bool) -> RelatedRole:
    """The role of the other end of a parent -> child link, seen from the subject."""
    if kind is RelationKind.BRANCH:
        return RelatedRole.BRANCH if subject_is_parent else RelatedRole.HEAD_OFFICE
    return RelatedRole.SUBSIDIARY if subject_is_parent else RelatedRole.CONTROLLING_SHAREHOLDER


class ReportPurpose(LabelledEnum):
    LISTING = "listing"
    REFINANCING = "refinancing"
    MERGER = "merger"
    BOND = "bond"


class Channel(LabelledEnum):
    MINIPROGRAM = "miniprogram"
    BOT = "bot"
    WEB = "web"
    HALL = "hall"
    TERMINAL = "terminal"


class ReportStatus(LabelledEnum):
    PENDING = "pending"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"


class ObjectionKind(LabelledEnum):
    CORRECTION = "correction"
    UPDATE = "update"
    REPAIR = "repair"
    DETAIL = "detail"


class ObjectionStatus(LabelledEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ObjectionResolution(LabelledEnum):
    CORRECTED = "corrected"
    UPDATED = "updated"
    REPAIRED = "repaired"
    MAINTAINED = "maintained"
    ANSWERED = "answered"


class NotificationStatus(LabelledEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    HELD = "held"  # outside the 48-hour window and no template: waits for the user to write
    FAILED = "failed"


class BindingRole(LabelledEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"
    AGENT = "agent"


_LABELS: dict[str, dict[str, str]] = {
    "RecordKind": {
        "administrative_penalty": "行政处罚（普通程序）",
        "court_judgment": "司法判决",
        "criminal_penalty": "刑事处罚",
        "administrative_enforcement": "行政强制执行",
        "serious_dishonesty": "列入严重失信主体名单",
        "abnormal_operation": "列入经营异常名录",
        "arrears_social_insurance": "欠缴社会保险费",
        "arrears_tax": "欠缴税费",
        "arrears_housing_fund": "欠缴住房公积金",
    },
    "PenaltyProcedure": {"ordinary": "普通程序", "simple": "简易程序", "unstated": "未注明"},
    "RecordStatus": {"in_force": "有效", "repaired": "已修复", "revoked": "已撤销"},
    "RelationKind": {
        "subsidiary": "子公司",
        "branch": "分支机构",
        "controlling_shareholder": "控股股东",
    },
    "RelatedRole": {
        "controlling_shareholder": "控股股东",
        "subsidiary": "控股子公司",
        "branch": "分支机构",
        "head_office": "总公司（隶属企业）",
    },
    "ReportPurpose": {
        "listing": "上市挂牌",
        "refinancing": "再融资",
        "merger": "并购重组",
        "bond": "债券发行",
    },
    "Channel": {
        "miniprogram": "渝快办小程序",
        "bot": "信用重庆公众号",
        "web": "信用中国（重庆）网站",
        "hall": "政务服务大厅窗口",
        "terminal": "一体化智能自助终端",
    },
    "ReportStatus": {
        "pending": "排队中",
        "rendering": "生成中",
        "ready": "已出具",
        "failed": "生成失败",
    },
    "ObjectionKind": {
        "correction": "信息更正",
        "update": "信息更新",
        "repair": "信用修复",
        "detail": "详情查询",
    },
    "ObjectionStatus": {
        "submitted": "已提交",
        "accepted": "已受理",
        "rejected": "不予受理",
        "resolved": "已办结",
        "closed": "已关闭",
    },
    "ObjectionResolution": {
        "corrected": "已更正",
        "updated": "已更新",
        "repaired": "已修复",
        "maintained": "维持原信息",
        "answered": "已答复",
    },
    "NotificationStatus": {
        "pending": "待发送",
        "sending": "发送中",
        "sent": "已发送",
        "held": "暂缓发送",
        "failed": "发送失败",
    },
    "BindingRole": {"legal_representative": "法定代表人", "agent": "经办人"},
}
