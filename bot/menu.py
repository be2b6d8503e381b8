"""What the bot can do: the menu text, the custom-menu buttons and the words that start a dialog."""

from __future__ import annotations

from typing import Any

MENU_REPORT = "MENU_REPORT"
MENU_BIND = "MENU_BIND"
MENU_OBJECTION = "MENU_OBJECTION"
MENU_PROGRESS = "MENU_PROGRESS"
MENU_VERIFY = "MENU_VERIFY"
MENU_HELP = "MENU_HELP"

# Menu key -> dialog name (bot/dialogs/<name>.py).
DIALOG_FOR_KEY = {
    MENU_REPORT: "report",
    MENU_BIND: "bind",
    MENU_OBJECTION: "objection",
    MENU_PROGRESS: "progress",
    MENU_VERIFY: "verify",
}

# Words that start a dialog when the user is not in one: the menu's numbers and names.
DIALOG_FOR_WORD = {
    **dict.fromkeys(("1", "申请报告", "报告", "出具报告", "开具报告", "信用报告"), "report"),
    **dict.fromkeys(("2", "绑定", "绑定企业", "企业绑定", "授权码"), "bind"),
    **dict.fromkeys(("3", "异议", "提出异议", "异议申请", "信用修复"), "objection"),
    **dict.fromkeys(("4", "进度", "办理进度", "查询进度", "我的报告", "我的异议"), "progress"),
    **dict.fromkeys(("5", "验证", "核验", "验证报告", "核验报告"), "verify"),
}
CANCEL_WORDS = frozenset({"取消", "退出", "算了", "结束", "cancel", "q"})
HELP_WORDS = frozenset({"帮助", "菜单", "help", "menu", "?", "？", "你好", "您好", "hi", "hello"})

MENU_TEXT = (
    "我可以为您办理：\n"
    "1 申请报告：出具专项信用报告（上市版）\n"
    "2 绑定企业：法定代表人或经办人绑定企业\n"
    "3 提出异议：对报告中的信息提出异议\n"
    "4 办理进度：查看报告和异议的进度\n"
    "5 验证报告：例如“验证 YX20261127000001 ABCD2345”\n"
    "请回复序号或名称；办理中随时回复“取消”可退出。"
)
WELCOME_TEXT = "您好，欢迎关注信用重庆！这里可以办理企业专项信用报告（上市版）。"
NOT_UNDERSTOOD_TEXT = "抱歉，没听懂您的意思。"
CHITCHAT_TEXT = "您好，我是信用重庆的办事助手，闲聊我不太擅长，下面这些事可以找我。"

# The Official Account's custom menu, as WeChat's menu/create API takes it.
MENU_BUTTONS: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "申请报告", "key": MENU_REPORT},
        {
            "name": "异议与进度",
            "sub_button": [
                {"type": "click", "name": "提出异议", "key": MENU_OBJECTION},
                {"type": "click", "name": "办理进度", "key": MENU_PROGRESS},
            ],
        },
        {
            "name": "更多",
            "sub_button": [
                {"type": "click", "name": "绑定企业", "key": MENU_BIND},
                {"type": "click", "name": "验证报告", "key": MENU_VERIFY},
                {"type": "click", "name": "使用帮助", "key": MENU_HELP},
            ],
        },
    ]
}


def normalise_command(text: str) -> str:
    """Lower case without spaces or trailing punctuation, for comparing with the words above."""
    return "".join(text.split()).lower().rstrip("。.!！")
