"""Progress (办理进度): the user's recent reports and open objection tickets.

A ready report can be sent again by replying with its number in the list.
"""

from __future__ import annotations

from bot.dialogs import CHINA, StepResult, Turn, pick_number
from bot.state import IDLE, DialogState
from models.enums import ObjectionKind, ObjectionStatus, ReportStatus
from models.objection import Objection
from models.report import Report
from services.objections.due import estimated_mark
from services.objections.lifecycle import objections_for_user
from services.wechat.messages import OutboundMessage

NAME = "progress"
TITLE = "办理进度"
RECENT_REPORTS = 5
EXPECT = {"resend": "请回复报告前的序号，例如：1；回复“取消”结束"}


def _report_line(report: Report) -> str:
    day = report.created_at.astimezone(CHINA).date()
    return (
        f"{report.number} {report.enterprise.name}\n"
        f"   {day:%Y-%m-%d}申请，{ReportStatus(report.status).label}"
    )


async def _reports_part(turn: Turn) -> tuple[list[int], str]:
    reports = (
        await Report.filter(requester_id=turn.user.id)
        .order_by("-created_at", "-id")
        .limit(RECENT_REPORTS)
        .prefetch_related("enterprise")
    )
    if not reports:
        return [], "您还没有通过公众号申请过报告。回复“报告”即可申请。"
    lines = [f"{i} {_report_line(r)}" for i, r in enumerate(reports, start=1)]
    return [r.id for r in reports], "您最近申请的报告：\n" + "\n".join(lines)


def _ticket_line(objection: Objection) -> str:
    status = ObjectionStatus(objection.status)
    due = objection.accept_due if status == ObjectionStatus.SUBMITTED else objection.resolve_due
    what = "受理" if status == ObjectionStatus.SUBMITTED else "办结"
    return (
        f"{objection.ticket_no} {ObjectionKind(objection.kind).label}，"
        f"{status.label}，{due:%Y-%m-%d}{estimated_mark(due)}前{what}"
    )


async def _tickets_part(turn: Turn) -> str | None:
    tickets = await objections_for_user(turn.user.id, open_only=True)
    if not tickets:
        return None
    return "您的异议（办理中）：\n" + "\n".join(_ticket_line(t) for t in tickets)


async def start(turn: Turn) -> StepResult:
    report_ids, reports_text = await _reports_part(turn)
    replies: list[str | OutboundMessage] = [reports_text]
    tickets_text = await _tickets_part(turn)
    if tickets_text:
        replies.append(tickets_text)
    if not report_ids:
        return IDLE, replies
    replies.append("回复报告前的序号，可重新获取已出具的报告；回复“取消”结束。")
    return DialogState(NAME, "resend", {"report_ids": report_ids}), replies


async def resend(state: DialogState, turn: Turn) -> StepResult:
    report_ids = state.data["report_ids"]
    index = pick_number(turn.text, len(report_ids))
    if index is None:
        return state, [f"请回复报告前的序号（1至{len(report_ids)}），或回复“取消”。"]
    report = await Report.get(id=report_ids[index], requester_id=turn.user.id)
    if report.status != ReportStatus.READY:
        return state, [
            f"报告 {report.number} {ReportStatus(report.status).label}，出具后会自动发送给您。"
        ]
    card = OutboundMessage(openid=turn.msg.openid, kind="report", report_id=report.id)
    return IDLE, [card]


STEPS = {"resend": resend}
