"""`staff`: people's accounts for the consoles (create, list, disable).

`staff create` prints the TOTP enrolment QR code once, in the terminal, to be scanned with an
authenticator app on the spot; the secret is never shown again.
"""

from __future__ import annotations

import argparse
import getpass
import io
import sys

from cli.common import Commands, command, group, refuse, with_database
from config.settings import Settings

ROLES = ("dept_viewer", "dept_handler", "dept_admin", "window_operator", "hall_admin", "ops")
# Where each role works, printed with the new account.
CONSOLES = {"window_operator": "/hall/", "hall_admin": "/hall/", "ops": "/ops"} | dict.fromkeys(
    ("dept_viewer", "dept_handler", "dept_admin"), "/dept/"
)


def register(commands: Commands) -> None:
    staff = group(commands, "staff", "staff accounts for the department, hall and ops consoles")
    create = command(staff, "create", run_create, "create an account and print its TOTP QR once")
    create.add_argument("username", help="sign-in name, e.g. zhang.wei")
    create.add_argument("--name", required=True, help="the person's name, e.g. 张伟")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--department", help="department code, for the dept_* roles")
    create.add_argument("--hall", help="service hall, for window_operator and hall_admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, no prompt"
    )
    command(staff, "list", run_list, "list the live accounts")
    disable = command(staff, "disable", run_disable, "disable an account")
    disable.add_argument("username")


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码（至少 12 位）：")
    if getpass.getpass("再次输入密码：") != first:
        return None
    return first


def enrolment_qr(uri: str) -> str:
    """The provisioning URI as a QR code drawn with text characters."""
    import qrcode

    code = qrcode.QRCode(border=2)
    code.add_data(uri)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    from services.accounts.staff import create_staff
    from services.errors import ServiceError

    password = _password(args.password_stdin)
    if password is None:
        return refuse("两次输入的密码不一致")
    try:
        new = with_database(settings, lambda: create_staff(
            settings.id_hash_key, username=args.username, name=args.name, role=args.role,
            password=password, department_code=args.department, hall=args.hall,
            created_by=f"cli:{getpass.getuser()}"[:64],
        ))  # fmt: skip
    except ServiceError as exc:
        return refuse(exc.message)
    who = new.identity
    place = who.department_name or who.hall or "全市"
    summary = f"{who.name}，{who.role_label}，{place}，编号 {who.id}"
    print(f"已创建工作人员账号 {who.username}（{summary}）。")
    print("请本人用身份验证器应用扫描下面的二维码（只显示这一次）：")
    print(enrolment_qr(new.provisioning_uri))
    print(f"无法扫码时手动输入密钥：{new.totp_secret}")
    console = CONSOLES.get(who.role.value, "/staff/")
    print(f"登录地址：{settings.public_base_url}/staff/login（登录后进入 {console}）")
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.accounts.staff import list_staff

    for who in with_database(settings, list_staff):
        place = who.department_name or who.hall or "全市"
        print(f"{who.id}\t{who.username}\t{who.name}\t{who.role_label}\t{place}")
    return 0


def run_disable(args: argparse.Namespace, settings: Settings) -> int:
    from services.accounts.staff import disable_staff

    by = f"cli:{getpass.getuser()}"[:64]
    if not with_database(settings, lambda: disable_staff(args.username, by)):
        return refuse("没有该用户名的有效账号")
    print(f"已停用 {args.username}，其登录会话在下次请求时失效。")
    return 0
