"""`dept` and `ingest`: departments' API keys, their data quality, and bulk loads of records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.common import Commands, command, group, refuse, with_database
from cli.tables import aligned
from config.settings import Settings


def register(commands: Commands) -> None:
    dept = group(commands, "dept", "departments")
    create_key = command(
        dept, "create-key", run_create_key, "print a new API key for a department, once"
    )
    create_key.add_argument("department", help="department code, e.g. samr")
    create_key.add_argument("--label", default="", help="what the key is for")
    revoke_key = command(dept, "revoke-key", run_revoke_key, "revoke an API key by its number")
    revoke_key.add_argument("key_id", type=int)
    command(dept, "quality", run_quality, "every department's data quality")
    ingest = command(
        commands, "ingest", run_ingest, "push a file of records for a department (bulk loads)"
    )
    ingest.add_argument("--department", required=True, help="department code, e.g. samr")
    ingest.add_argument("file", help=".csv, .jsonl or .ndjson")
    ingest.add_argument("--charset", default=None, help="CSV only: utf-8 or gbk (default: detect)")
    ingest.add_argument("--show", type=int, default=20, help="rejected rows to print")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")


def run_create_key(args: argparse.Namespace, settings: Settings) -> int:
    from services.accounts.department_keys import create_department_key
    from services.errors import ServiceError

    try:
        new = with_database(settings, lambda: create_department_key(args.department, args.label))
    except ServiceError as exc:
        return refuse(exc.message)
    print(f"部门 {new.department} 的新接口密钥（编号 {new.id}，只显示这一次，请妥善保存）：")
    print(new.key)
    return 0


def run_revoke_key(args: argparse.Namespace, settings: Settings) -> int:
    from services.accounts.department_keys import revoke_department_key
    from services.errors import ServiceError

    try:
        row = with_database(settings, lambda: revoke_department_key(args.key_id))
    except ServiceError as exc:
        return refuse(exc.message)
    print(f"密钥 {row.id}（{row.display}…）已吊销。")
    return 0


def run_quality(args: argparse.Namespace, settings: Settings) -> int:
    from config.calendar import calendar_for
    from services.ingest.quality import all_departments_quality

    calendar = calendar_for(settings.holiday_overrides_path)
    print(format_quality_table(with_database(settings, lambda: all_departments_quality(calendar))))
    return 0


QUALITY_COUNTS = ("记录数", "逾期率", "历史补录", "批次")
QUALITY_HEADER = ("部门代码", "部门", "最近推送", *QUALITY_COUNTS, "拒收率", "主要拒收原因")


def format_quality_table(figures: list[Any]) -> str:
    """Every department's freshness and quality figures as a terminal table."""
    return aligned([QUALITY_HEADER, *(quality_row(q) for q in figures)])


def quality_row(q: Any) -> tuple[str, ...]:
    from services.ingest.push import CHINA
    from services.ingest.validate import REJECTION_CODES

    last_push = q.last_push.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if q.last_push else None
    top = q.rejections.most_common(1)
    main_reason = f"{REJECTION_CODES.get(top[0][0], top[0][0])} {top[0][1]}" if top else "-"
    rejection_rate = f"{q.rejection_rate:.1%}" if q.rows_received else "-"
    counts = (str(q.records), q.late_share_text, str(q.backfill), str(q.batches))
    return (q.code, q.name, last_push or "从未推送", *counts, rejection_rate, main_reason)


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from services.errors import ServiceError
    from services.ingest.files import ingest_file

    path = Path(args.file)
    if not path.is_file():
        return refuse(f"找不到文件 {path}")
    bar = tqdm(desc=f"导入 {args.department}", unit="行", file=sys.stderr, disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = with_database(
            settings,
            lambda: ingest_file(args.department, path, charset=args.charset, progress=progress),
        )
    except ServiceError as exc:
        bar.close()
        print(f"错误：{exc.message}（{exc.code}）", file=sys.stderr)
        for rejection in exc.details.get("rejected", [])[:20]:
            print(f"  第 {rejection['line']} 行：{rejection['message']}", file=sys.stderr)
        return 2
    bar.close()
    c = result.to_dict()["counts"]
    print(
        f"批次 {result.batch_id}：共 {c['received']} 行，新增 {c['created']}，"
        f"更新 {c['updated']}，未变 {c['unchanged']}，拒收 {c['rejected']}"
    )
    for r in result.rejections[: args.show]:
        print(f"  第 {r.line} 行 [{r.code}] {r.field or ''} {r.message}")
    if result.rejected > args.show:
        print(f"  ……另有 {result.rejected - args.show} 行被拒收（按原因统计见 dept quality）")
    return 0
