"""`report` and `verify`: issue a report at once (the service-hall path) and check one."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import Commands, command, refuse, with_database
from config.settings import Settings


def register(commands: Commands) -> None:
    report = command(
        commands, "report", run_report, "issue a report now (service-hall path), write PDF and PNG"
    )
    report.add_argument("--uscc", required=True)
    report.add_argument("--domains", default="all", help="all, or numbers such as 1,5,7")
    report.add_argument("--from", dest="start", default=None, help="YYYY-MM-DD")
    report.add_argument("--to", dest="end", default=None, help="YYYY-MM-DD")
    purposes = ["listing", "refinancing", "merger", "bond"]
    report.add_argument("--purpose", default="listing", choices=purposes)
    report.add_argument("--related", action="store_true", help="include related enterprises")
    report.add_argument("--operator", default="窗口", help="who issues it, as printed")
    report.add_argument("--out", required=True, help="directory for the PDF and PNG")
    verify = command(
        commands, "verify", run_verify, "verify an issued report (and optionally its PDF)"
    )
    verify.add_argument("report_no")
    verify.add_argument("code")
    verify.add_argument("--pdf", default=None)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """Issue a report inline, as a service-hall window does, and write the PDF and PNG."""
    from models.report import Report
    from queues.connection import connect_redis
    from services.errors import ServiceError
    from services.reports.inline import copy_report_files, issue_now
    from services.reports.issuing import ReportRequest

    request = ReportRequest(
        uscc=args.uscc,
        domains=args.domains,
        start=args.start,
        end=args.end,
        purpose=args.purpose,
        channel="hall",
        related=args.related,
        operator=args.operator,
        applicant=args.operator,
    )

    async def go() -> tuple[Report, list[Path]]:
        redis = connect_redis(settings.redis_target, socket_timeout=5)
        try:
            report = await issue_now(settings, redis, request)
        finally:
            await redis.aclose()
        return report, await copy_report_files(settings, report, Path(args.out))

    try:
        report, (pdf, png) = with_database(settings, go)
    except ServiceError as exc:
        return refuse(exc.message)
    print(f"报告编号 {report.number}  核验码 {report.verify_code}")
    print(f"  {pdf}\n  {png}")
    print(f"  核验地址 {report.snapshot['verify_url']}")
    return 0


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Verdict first. Exit 0: genuine (and the PDF, if given, is the one issued, sealed and
    signed); 1: not genuine or not matching; 2: unknown report, wrong code or unreadable file."""
    from services.errors import ServiceError
    from services.reports.checkup import check_report

    try:
        pdf = Path(args.pdf).read_bytes() if args.pdf else None
    except OSError as exc:
        print(f"无法核验：读取 PDF 文件失败（{exc.strerror}）")
        return 2
    try:
        checkup = with_database(
            settings, lambda: check_report(settings, args.report_no, args.code, pdf)
        )
    except ServiceError as exc:
        print(f"无法核验：{exc.message}")
        return 2
    verdict, checked = checkup.verdict, checkup.pdf
    if checked is not None and not checked.genuine:
        print("PDF 文件核验未通过，请勿采信")
    else:
        print(verdict["headline"] if checkup.genuine else verdict["verdict"])
    print(f"  {verdict['data_status']}")
    print(f"  企业 {verdict['enterprise_name']}（{verdict['uscc']}）")
    print(f"  报告期 {verdict['span_label']}；出具时间 {verdict['issued_at_label']}")
    for line in checked.lines() if checked is not None else []:
        print(f"  {line}")
    return 0 if checkup.genuine else 1
