from pathlib import Path

import pytest

from cli.common import load_settings
from cli.main import build_parser
from config.secrets import ensure_dev_secrets
from config.settings import Settings, SettingsError


def test_settings_come_from_the_environment_typed():
    s = Settings.from_env(
        {"DATABASE_URL": "postgres://u:pw@db:5432/yc", "PORT": "9000", "OPS_TOKEN": "t"}
    )
    assert s.port == 9000
    assert s.database_url == "postgres://u:pw@db:5432/yc"
    assert not s.is_sqlite


def test_defaults_are_the_embedded_mode():
    s = Settings.from_env({})
    assert s.is_sqlite and s.database_url.endswith("var/yucredit.db")
    assert s.port == 8080


def test_a_non_integer_port_is_refused():
    with pytest.raises(SettingsError):
        Settings.from_env({"PORT": "eighty"})


def test_redacted_settings_hide_secrets_and_url_passwords():
    s = Settings(database_url="postgres://u:hunter2@db/yc", ops_token="s3cret", mp_secret="")
    shown = s.redacted()
    assert shown["ops_token"] == "<set>" and shown["mp_secret"] == "<unset>"
    assert "hunter2" not in shown["database_url"] and "***" in shown["database_url"]
    assert "s3cret" not in repr(shown)


def test_check_command_prints_no_secret(monkeypatch, capsys, tmp_path: Path):
    monkeypatch.setenv("OPS_TOKEN", "very-secret-ops-token")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:hunter2@db/yc")
    monkeypatch.setattr("config.secrets.DEV_SECRETS_FILE", tmp_path / "secrets.env")
    monkeypatch.setattr("cli.common.environment_with_dev_secrets", _env_with(tmp_path))
    args = build_parser().parse_args(["check"])
    assert args.func(args, load_settings()) == 0
    out = capsys.readouterr().out
    assert "very-secret-ops-token" not in out and "hunter2" not in out
    assert "OPS_TOKEN" in out


def _env_with(tmp_path: Path):
    from config.secrets import environment_with_dev_secrets

    return lambda: environment_with_dev_secrets(tmp_path / "secrets.env")


def test_dev_secrets_are_generated_once_private_and_stable(tmp_path: Path):
    path = tmp_path / "var" / "secrets.env"
    first = ensure_dev_secrets(path)
    assert ensure_dev_secrets(path) == first
    assert path.stat().st_mode & 0o077 == 0
    assert len(first["WECHAT_AES_KEY"]) == 43 and len(first["ID_HASH_KEY"]) == 64


def test_an_old_secrets_file_gets_the_missing_secrets_and_keeps_its_own(tmp_path: Path):
    path = tmp_path / "secrets.env"
    path.write_text("ID_HASH_KEY=keep-me\n", encoding="utf-8")
    values = ensure_dev_secrets(path)
    assert values["ID_HASH_KEY"] == "keep-me"
    assert values["REPORT_SIGNING_KEY"] and values["OPS_TOKEN"]
    assert ensure_dev_secrets(path) == values
