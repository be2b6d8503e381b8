"""Objection (提出异议): a report, a record in it, the kind, a description, photos, confirmation;
then the ticket number.

Photos are downloaded when they arrive and checked like the mini-program's uploads; their bytes
wait in Redis (not in the dialog state) until the objection is submitted.
"""

from __future__ import annotations

from typing import Any

from bot.dialogs import (
    CHANNEL,
    YES_WORDS,
    StepResult,
    Turn,
    not_allowed_text,
    numbered,
    paged,
    pick_number,
    understood,
)
from bot.parse_domains import DomainsNotUnderstood, describe, parse_domains
from bot.state import IDLE, KEEP_S, DialogState, once
from config.catalogue import DOMAINS_BY_NUMBER
from services.access import enterprises_for
from services.errors import InvalidRequest
from services.objections.attachments import MAX_IMAGES
from services.objections.lifecycle import MAX_TEXT_CHARS, submit_objection, validate_image
from services.objections.subjects import records_in_report, reports_open_to_objection
from services.objections.views import KIND_CHOICES

NAME = "objection"
TITLE = "提出异议"
DOING = "提出异议"

RECENT_REPORTS = 10
MAX_PHOTOS = MAX_IMAGES
TEXT_MIN, TEXT_MAX = 5, MAX_TEXT_CHARS
KIND_LABELS = dict(KIND_CHOICES)
KIND_WORDS = {"更正": "correction", "更新": "update", "修复": "repair", "详情": "detail",
              "查询": "detail"}  # fmt: skip
REPAIR = "repair"  # 信用修复, the kind an intent to repair names
DONE_WORDS = frozenset({"完成", "好了", "没有了", "跳过", "没有", "无", "发完了", "ok"})

ASK_KIND = "请选择异议类型（回复序号）：\n" + numbered(list(KIND_LABELS.values()))
ASK_TEXT = f"请描述异议的内容和理由（{TEXT_MIN}至{TEXT_MAX}字）。"
ASK_PHOTOS = (
    f"如有证明材料，请逐张发送照片（最多{MAX_PHOTOS}张）；发完请回复“完成”，没有材料请回复“跳过”。"
)
ASK_DOMAIN = "请回复异议涉及的领域序号或名称（如 15 或 生态环境）。"


# Steps whose answer is free text: no intent is read into it (a description may say 不对, 删除).
FREE_TEXT_STEPS = frozenset({"text"})
EXPECT = {
    "report": "请回复报告前的序号，例如：1",
    "record": "请回复信息前的序号，例如：1；与具体信息无关请回复0",
    "domain": "请回复一个领域的序号或名称，例如：15 或 生态环境",
    "kind": "请回复异议类型的序号，例如：1（信息更正）",
    "text": f"请用{TEXT_MIN}至{TEXT_MAX}字说明异议的内容和理由，例如：该处罚已于2024年3月整改完毕",
    "photos": "请发送证明材料的照片；没有材料请回复“跳过”，发完请回复“完成”",
    "confirm": "请回复“确认”提交异议，例如：确认",
}


def _media_key(turn: Turn) -> str:
    return f"bot:media:{turn.once_key('photo')}"


def _record_line(record: dict[str, Any]) -> str:
    return (
        f"【{record['domain_name']}】{record['decision_no']}"
        f"（{record['decision_date']}，{record['kind']}）"
    )


async def start(turn: Turn) -> StepResult:
    acting, bound = await enterprises_for(turn.user_id, "objections")
    if not acting:
        return IDLE, [not_allowed_text(bound, DOING)]
    reports = await reports_open_to_objection(turn.user_id, RECENT_REPORTS)
    if not reports:
        return IDLE, ["暂无已出具的报告。异议针对报告中的信息提出，请先回复“报告”申请报告。"]
    lines = [f"{r['report_no']} {r['enterprise']['name']}（{r['created_on']}）" for r in reports]
    data: dict[str, Any] = {"report_ids": [r["id"] for r in reports]}
    if understood(turn).intent == "repair":  # 申请信用修复: the kind is known already
        data["kind"] = REPAIR
    state = DialogState(NAME, "report", data)
    return state, ["请选择要提出异议的报告（回复序号）：\n" + numbered(lines)]


def _preset(state: DialogState) -> dict[str, Any]:
    return {"kind": state.data["kind"]} if "kind" in state.data else {}


async def choose_report(state: DialogState, turn: Turn) -> StepResult:
    report_ids = state.data["report_ids"]
    index = pick_number(turn.text, len(report_ids))
    if index is None:
        return state, [f"请回复报告前的序号（1至{len(report_ids)}），或回复“取消”。"]
    report = await records_in_report(turn.user_id, report_ids[index])
    records = [
        {"id": r["id"], "domain": r["domain"], "line": _record_line(r)} for r in report["records"]
    ]
    data = {"report_id": report["id"], "enterprise_id": report["enterprise_id"], "records": records}
    state = DialogState(NAME, "record", {**_preset(state), **data})
    if not records:
        return state.at("domain"), [f"报告 {report['report_no']} 中没有违法违规信息。{ASK_DOMAIN}"]
    header = f"报告 {report['report_no']} 中的信息（回复序号选择一条；与具体信息无关请回复0）："
    return state, list(paged(header, numbered([r["line"] for r in records]).splitlines()))


async def choose_record(state: DialogState, turn: Turn) -> StepResult:
    records = state.data["records"]
    if turn.word == "0":
        return state.at("domain"), [ASK_DOMAIN]
    index = pick_number(turn.text, len(records))
    if index is None:
        return state, [f"请回复信息前的序号（1至{len(records)}），或回复0，或回复“取消”。"]
    chosen = records[index]
    state = state.at(
        "kind", domain=chosen["domain"], record_id=chosen["id"], subject=chosen["line"]
    )
    return _kind_or_text(state, f"已选择：{chosen['line']}")


def _kind_or_text(state: DialogState, chosen: str) -> StepResult:
    """The kind question, unless the user already said which (信用修复)."""
    if "kind" in state.data:
        kind = KIND_LABELS[state.data["kind"]]
        return state.at("text"), [f"{chosen}\n异议类型：{kind}。{ASK_TEXT}"]
    return state, [f"{chosen}\n{ASK_KIND}"]


async def choose_domain(state: DialogState, turn: Turn) -> StepResult:
    try:
        domains = parse_domains(turn.text)
    except DomainsNotUnderstood as exc:
        return state, [exc.message]
    if len(domains) != 1:
        return state, [f"请只选择一个领域。{ASK_DOMAIN}"]
    subject = f"【{DOMAINS_BY_NUMBER[domains[0]].name}】领域"
    state = state.at("kind", domain=domains[0], record_id=None, subject=subject)
    return _kind_or_text(state, f"已选择：{describe(domains)}")


async def choose_kind(state: DialogState, turn: Turn) -> StepResult:
    index = pick_number(turn.text, len(KIND_CHOICES))
    kind = KIND_CHOICES[index][0] if index is not None else None
    kind = kind or next((k for w, k in KIND_WORDS.items() if w in turn.word), None)
    if kind is None:
        return state, [f"没有看懂这个类型。{ASK_KIND}"]
    return state.at("text", kind=kind), [ASK_TEXT]


async def describe_objection(state: DialogState, turn: Turn) -> StepResult:
    text = turn.text
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        return state, [f"描述的长度应为{TEXT_MIN}至{TEXT_MAX}字，当前为{len(text)}字。{ASK_TEXT}"]
    return state.at("photos", text=text, photos=[]), [ASK_PHOTOS]


async def add_photos(state: DialogState, turn: Turn) -> StepResult:
    photos: list[dict[str, str]] = state.data["photos"]
    if turn.msg.kind == "image":
        if len(photos) >= MAX_PHOTOS:
            return state, [f"最多{MAX_PHOTOS}张照片，这张未收下。请回复“完成”继续。"]
        data = await turn.download_media(turn.redis, turn.settings, turn.msg.media_id)
        filename = f"照片{len(photos) + 1}{_extension(data)}"
        content_type = validate_image(filename, data)
        key = _media_key(turn)
        await turn.redis.set(key, data, ex=KEEP_S)
        photos = [*photos, {"key": key, "filename": filename, "content_type": content_type}]
        return state.at("photos", photos=photos), [
            f"已收到第{len(photos)}张照片。可继续发送，发完请回复“完成”。"
        ]
    if turn.word in DONE_WORDS:
        return state.at("confirm"), [summary(state)]
    return state, [ASK_PHOTOS]


def _extension(data: bytes) -> str:
    return ".png" if data.startswith(b"\x89PNG") else ".jpg"


def summary(state: DialogState) -> str:
    kind = KIND_LABELS[state.data["kind"]]
    return (
        f"请确认异议：\n对象：{state.data['subject']}\n类型：{kind}\n"
        f"说明：{state.data['text']}\n照片：{len(state.data['photos'])}张\n"
        "回复“确认”提交，或回复“取消”放弃。"
    )


async def confirm(state: DialogState, turn: Turn) -> StepResult:
    if turn.word not in YES_WORDS:
        return state, ["请回复“确认”提交异议，或回复“取消”放弃。"]
    data = state.data

    async def submit() -> dict[str, Any]:
        images = []
        for photo in data["photos"]:
            content = await turn.redis.get(photo["key"])
            if content is None:  # kept a day: only a dialog resumed much later gets here
                raise InvalidRequest(
                    "照片已过期，请回复“取消”后重新提交异议", code="photos_expired"
                )
            images.append((photo["filename"], content))
        objection = await submit_objection(
            turn.redis,
            user_id=turn.user_id,
            enterprise_id=data["enterprise_id"],
            kind=data["kind"],
            text=data["text"],
            record_id=data["record_id"],
            report_id=data["report_id"],
            domain=data["domain"],
            images=images,
            channel=CHANNEL,
            settings=turn.settings,
        )
        return {"ticket_no": objection.ticket_no, "query_code": objection.query_code}

    done = await once(turn.redis, turn.once_key("objection"), submit)
    if data["photos"]:
        await turn.redis.delete(*(p["key"] for p in data["photos"]))
    return IDLE, [
        f"异议已提交，受理编号 {done['ticket_no']}，查询码 {done['query_code']}。\n"
        "办理进展将通过公众号通知您，也可回复“进度”查看。"
    ]


STEPS = {
    "report": choose_report,
    "record": choose_record,
    "domain": choose_domain,
    "kind": choose_kind,
    "text": describe_objection,
    "photos": add_photos,
    "confirm": confirm,
}
