"""The install is reproducible: the venv is the lock, and the lock is pyproject.toml's ranges."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from redis.asyncio.retry import Retry as AsyncRetry

from queues.worker import worker_redis
from scripts import lock

ROOT = Path(__file__).resolve().parent.parent


def test_the_running_venv_is_exactly_the_lock() -> None:
    assert lock.freeze_diff() == []


def test_pyproject_and_lock_agree() -> None:
    assert lock.check() == []


def test_every_lock_entry_carries_a_hash() -> None:
    text = lock.LOCK.read_text(encoding="utf-8")
    entries = [block for block in text.split("\n") if lock.PIN.match(block)]
    assert len(entries) == len(lock.locked_pins()) > 50
    for line in entries:
        assert line.rstrip().endswith("\\"), f"no hash follows {line!r}"


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The files `make check-lock` reads, in a directory of their own."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "lock.py", tmp_path / "scripts" / "lock.py")
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _check_lock(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "check-lock"],
        cwd=directory,
        capture_output=True,
        text=True,
    )


def test_check_lock_passes_on_an_untouched_copy(project_copy: Path) -> None:
    assert _check_lock(project_copy).returncode == 0


def test_a_range_edited_without_relocking_fails_and_names_the_fix(project_copy: Path) -> None:
    pyproject = project_copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '"redis>=8.1,<9"' in text
    pyproject.write_text(text.replace('"redis>=8.1,<9"', '"redis>=8.1,<8.2"'), encoding="utf-8")
    result = _check_lock(project_copy)
    assert result.returncode != 0
    assert "changed since requirements.lock" in result.stderr
    assert "make lock" in result.stderr


def test_a_dependency_missing_from_the_lock_is_named(project_copy: Path) -> None:
    pyproject = project_copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"pyyaml>=6",', '"pyyaml>=6",\n    "leftpad>=1",'), "utf-8")
    problems = lock.check(pyproject, project_copy / "requirements.lock")
    assert "'leftpad>=1' is declared but not locked" in problems


def test_markers_keep_only_the_pins_for_this_python() -> None:
    every = lock.locked_pins()
    here = lock.locked_pins(for_this_python=True)
    assert "colorama" in every and "colorama" not in here  # Windows only
    assert set(here) < set(every)


def test_warning_filters_name_a_third_party_module_and_class() -> None:
    """Warnings are errors; an exception names one package's module and one warning class."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    filters = config["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert filters[0] == "error"
    own = {"bot", "config", "fakes", "handlers", "models", "queues", "render", "services"}
    for entry in filters[1:]:
        action, _message, category, module = (entry.split(":") + ["", "", "", ""])[:4]
        assert action == "ignore", entry
        assert category.endswith("Warning") and category != "Warning", entry
        assert module and module.split(".")[0] not in own, entry


def test_the_worker_client_retries_with_the_asyncio_retry() -> None:
    client = worker_redis("redis://127.0.0.1:6379/9")
    retry = client.connection_pool.connection_kwargs["retry"]
    assert isinstance(retry, AsyncRetry)
    assert sys.modules["redis.asyncio.retry"] is sys.modules[type(retry).__module__]
