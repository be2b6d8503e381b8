"""Progress (办理进度): the user's recent reports and open objection tickets.

A ready report can be sent again by replying with its number in the list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.dialogs import CHINA, StepResult, Turn, pick_number
from bot.state import IDLE, DialogState
from services.errors import Forbidden
from services.objections.due import estimated_mark
from services.objections.lifecycle import objections_for_user
from services.objections.views import objection_dict
from services.reports.requests import history_for_user, report_for_user
from services.wechat.messages import OutboundMessage

NAME = "progress"
TITLE = "办理进度"
RECENT_REPORTS = 5
READY = "ready"  # a report's status once it is issued (ReportStatus.READY)
SUBMITTED = "submitted"  # a ticket's status until it is accepted (ObjectionStatus.SUBMITTED)
EXPECT = {"resend": "请回复报告前的序号，例如：1；回复“取消”结束"}


def _report_line(report: dict[str, Any]) -> str:
    day = datetime.fromisoformat(report["created_at"]).astimezone(CHINA).date()
    return (
        f"{report['report_no']} {report['enterprise']['name']}\n"
        f"   {day:%Y-%m-%d}申请，{report['status_label']}"
    )


async def _reports_part(turn: Turn) -> tuple[list[int], str]:
    """The user's own requests, as the mini-program lists them: for the enterprises they still
    may ask about."""
    try:
        history = await history_for_user(turn.settings, turn.user_id, None, 1, RECENT_REPORTS)
    except Forbidden:  # bound to no enterprise with the reports scope
        history = {"items": []}
    reports = history["items"]
    if not reports:
        return [], "您还没有通过公众号申请过报告。回复“报告”即可申请。"
    lines = [f"{i} {_report_line(r)}" for i, r in enumerate(reports, start=1)]
    return [r["id"] for r in reports], "您最近申请的报告：\n" + "\n".join(lines)


def _ticket_line(ticket: dict[str, Any]) -> str:
    submitted = ticket["status"]["code"] == SUBMITTED
    due = date.fromisoformat(ticket["accept_due"] if submitted else ticket["resolve_due"])
    what = "受理" if submitted else "办结"
    return (
        f"{ticket['ticket_no']} {ticket['kind']['label']}，"
        f"{ticket['status']['label']}，{due:%Y-%m-%d}{estimated_mark(due)}前{what}"
    )


async def _tickets_part(turn: Turn) -> str | None:
    tickets = await objections_for_user(turn.user_id, open_only=True)
    if not tickets:
        return None
    views = [objection_dict(t, turn.today, for_enterprise=True) for t in tickets]
    return "您的异议（办理中）：\n" + "\n".join(_ticket_line(t) for t in views)


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
    report = await report_for_user(turn.settings, turn.user_id, report_ids[index])
    if report["status"] != READY:
        return state, [
            f"报告 {report['report_no']} {report['status_label']}，出具后会自动发送给您。"
        ]
    card = OutboundMessage(openid=turn.msg.openid, kind="report", report_id=report["id"])
    return IDLE, [card]


STEPS = {"resend": resend}
