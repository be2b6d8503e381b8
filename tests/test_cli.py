"""The command line: a thin run.py over cli/, every command group registered, settings read once."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli
from cli.main import GROUPS, build_parser, main

ROOT = Path(__file__).resolve().parent.parent

# Every command and option the Makefile, scripts/test.sh, the benches and the tests call.
CONTRACT = [
    ["ensure-redis"],
    ["migrate"],
    ["seed", "--if-empty", "--enterprises", "2000", "--records", "50000", "--seed", "7"],
    ["seed", "--replace", "--quiet"],
    ["serve", "--with-workers", "--with-fake-wechat", "--with-fake-oidc", "--with-dev-pki"],
    ["serve", "--port", "8160", "--host", "0.0.0.0", "--with-workers", "8"],
    ["worker", "--streams", "reports:render", "--concurrency", "2"],
    ["report", "--uscc", "X", "--domains", "1,5", "--from", "2024-01-01", "--to", "2024-12-31",
     "--purpose", "bond", "--related", "--operator", "窗口", "--out", "/tmp/yc"],
    ["verify", "YX20261128000001", "N35GD5H7", "--pdf", "r.pdf"],
    ["dept", "create-key", "samr", "--label", "夜间导出"],
    ["dept", "revoke-key", "3"],
    ["dept", "quality"],
    ["ingest", "--department", "samr", "f.csv", "--charset", "gbk", "--show", "5", "--quiet"],
    ["operator", "create", "3号窗口", "--channel", "terminal"],
    ["staff", "create", "zhang.wei", "--name", "张伟", "--role", "dept_handler", "--department",
     "samr", "--password-stdin"],
    ["staff", "create", "wang.fang", "--name", "王芳", "--role", "window_operator",
     "--hall", "渝中区"],
    ["staff", "disable", "zhang.wei"],
    ["audit", "verify"],
    ["storage", "migrate", "--to", "postgres", "--from", "fs"],
    ["ops", "queues"],
    ["wechat", "simulate", "--url", "http://x", "--openid", "o", "--say", "你好", "--plain",
     "--script", "-", "--quiet", "0.5"],
    ["bot", "understand", "开报告要钱吗", "--file", "-"],
    ["domains"],
    ["check"],
]  # fmt: skip


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """main() sets up the process's logging: put the test run's back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = saved
    root.setLevel(level)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("YUCREDIT_SECRETS_FILE", str(tmp_path / "secrets.env"))
    for name in ("LOG_LEVEL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_run_py_is_a_thin_entry_point_over_cli():
    source = (ROOT / "run.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 150
    assert "from cli.main import main" in source
    assert "def " not in source and "argparse" not in source


def test_every_cli_module_with_commands_is_a_registered_group():
    names = [f"cli.{m.name}" for m in pkgutil.iter_modules(cli.__path__)]
    with_commands = {n for n in names if hasattr(importlib.import_module(n), "register")}
    assert with_commands == {g.__name__ for g in GROUPS}


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.__name__)
def test_each_command_group_registers_commands_that_run_a_function(group):
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    group.register(commands)
    assert commands.choices, f"{group.__name__} registered no command"
    for name, sub in commands.choices.items():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        leaves = nested[0].choices.values() if nested else [sub]
        for leaf in leaves:
            assert callable(leaf.get_default("func")), f"{name} has no function"


@pytest.mark.parametrize("argv", CONTRACT, ids=lambda a: " ".join(a[:2]))
def test_the_commands_others_call_keep_their_names_and_options(argv):
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_an_unknown_command_or_option_is_a_usage_error(capsys):
    for argv in (["serve", "--with-everything"], ["launch"], []):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args(argv)
        assert exited.value.code == 2
    assert "usage: run.py" in capsys.readouterr().err


def test_the_log_level_comes_from_the_settings(environment, root_logging, capsys):
    environment.setenv("LOG_LEVEL", "warning")
    assert main(["domains"]) == 0
    assert root_logging.level == logging.WARNING
    assert "生态环境" in capsys.readouterr().out


def test_an_unknown_log_level_is_refused_in_chinese(environment, root_logging, capsys):
    environment.setenv("LOG_LEVEL", "chatty")
    assert main(["domains"]) == 2
    assert capsys.readouterr().err.startswith("错误：配置有误")


def test_a_malformed_setting_is_refused_before_any_command_runs(environment, capsys):
    environment.setenv("PORT", "eighty")
    assert main(["check"]) == 2
    captured = capsys.readouterr()
    assert "PORT" in captured.err and captured.out == ""


def test_the_worker_refuses_an_unknown_stream(environment, root_logging, capsys):
    assert main(["worker", "--streams", "reports:render", "nope"]) == 2
    assert "未知的队列 ['nope']" in capsys.readouterr().err
