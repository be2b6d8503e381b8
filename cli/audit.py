"""`audit verify`: the tamper evidence, recomputed (the audit trail and the record version log)."""

from __future__ import annotations

import argparse

from cli.common import Commands, command, group, with_database
from config.settings import Settings


def register(commands: Commands) -> None:
    audit = group(commands, "audit", "tamper evidence")
    command(audit, "verify", run_verify, "recompute the audit trail and the record version log")


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from services.audit import ChainBreak, verify_audit_chain
    from services.ingest.integrity import RecordChainReport, verify_record_chain

    async def go() -> tuple[list[ChainBreak], RecordChainReport]:
        return await verify_audit_chain(), await verify_record_chain()

    audit_breaks, records = with_database(settings, go)
    for b in audit_breaks:
        print(f"审计日志第 {b.entry_id} 条：{b.reason}")
    for b in records.breaks:
        print(b.describe())
    print(
        f"审计日志：{'完好' if not audit_breaks else f'{len(audit_breaks)} 处异常'}；"
        f"记录版本日志 {records.entries} 条、记录 {records.records} 条"
        f"（其中 {records.unchained} 条为接口外导入，仅核对内容哈希）："
        f"{'完好' if records.ok else f'{len(records.breaks)} 处异常'}"
    )
    return 0 if records.ok and not audit_breaks else 1
