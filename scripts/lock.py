"""The lock file: write it from pyproject.toml, check the two agree, compare it with a venv.

`pyproject.toml` holds the ranges; `requirements.lock` holds every package (direct and
transitive, test and lock tools included) at one version with its hashes. Its header records a
digest of the ranges it was resolved from, so a range edited without re-locking is caught
without a network. Usage:

    python scripts/lock.py write [--upgrade]   # resolve (needs the package registry)
    python scripts/lock.py check               # pyproject.toml and the lock agree
    python scripts/lock.py freeze-diff         # this interpreter's packages against the lock
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
EXTRAS = ("test", "lock")
DIGEST_LINE = "# pyproject-digest: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+))?")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_ranges(pyproject: Path = PYPROJECT) -> list[str]:
    """Every requirement the lock is resolved from, in a stable order."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in EXTRAS:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    return sorted(" ".join(r.split()) for r in requirements)


def ranges_digest(pyproject: Path = PYPROJECT) -> str:
    payload = json.dumps(declared_ranges(pyproject), ensure_ascii=False).encode()
    return hashlib.sha256(payload).hexdigest()


def locked_pins(lock: Path = LOCK, *, for_this_python: bool = False) -> dict[str, str]:
    """name -> version, for every package pinned in the lock.

    The lock is universal; `for_this_python` keeps only the pins whose environment marker holds
    here (no async-timeout on 3.11.3+, no colorama off Windows).
    """
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if not match:
            continue
        if for_this_python and match.group(3):
            from packaging.markers import Marker  # locked, so present in the venv

            if not Marker(match.group(3).strip()).evaluate():
                continue
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def recorded_digest(lock: Path = LOCK) -> str | None:
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_LINE):
            return line[len(DIGEST_LINE) :].strip()
    return None


def check(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> list[str]:
    """Why the lock does not match pyproject.toml; empty when it does."""
    if not lock.exists():
        return [f"{lock.name} is missing"]
    problems = []
    if recorded_digest(lock) != ranges_digest(pyproject):
        problems.append(f"the dependency ranges in {pyproject.name} changed since {lock.name}")
    pins = locked_pins(lock)
    for requirement in declared_ranges(pyproject):
        name = normalise(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
        if name not in pins:
            problems.append(f"{requirement!r} is declared but not locked")
    return problems


def freeze_diff(lock: Path = LOCK) -> list[str]:
    """Differences between this interpreter's installed packages and the lock."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude", "pip"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = {}
    for line in out.splitlines():
        match = PIN.match(line)
        if match:
            installed[normalise(match.group(1))] = match.group(2)
        elif line.strip() and not line.startswith("#"):
            installed[line.strip()] = "(not a pinned release)"
    # The venv's own installers come with it, not from the lock.
    for tool in ("setuptools", "wheel"):
        installed.pop(tool, None)
    wanted = locked_pins(lock, for_this_python=True)
    diff = []
    for name in sorted(set(installed) | set(wanted)):
        have, want = installed.get(name), wanted.get(name)
        if have != want:
            diff.append(f"{name}: installed {have or '-'}, locked {want or '-'}")
    return diff


def write(upgrade: bool) -> None:
    """Resolve pyproject.toml into the lock; without `upgrade`, pins that still fit are kept."""
    before = locked_pins() if LOCK.exists() else {}
    command = [
        str(Path(sys.executable).with_name("uv")),
        "pip",
        "compile",
        PYPROJECT.name,
        *[arg for extra in EXTRAS for arg in ("--extra", extra)],
        "--generate-hashes",
        "--universal",
        "--python-version",
        "3.11",
        "--no-header",
        "--quiet",
        # uv prefers the versions already in the output file, so a plain re-lock moves nothing
        # that still satisfies its range.
        "--output-file",
        LOCK.name,
    ]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=ROOT, check=True)
    header = (
        "# Every Python package YuCredit installs, pinned with hashes. Do not edit by hand:\n"
        "# `make lock` writes it from pyproject.toml; `make upgrade` takes the newest releases.\n"
        f"{DIGEST_LINE}{ranges_digest()}\n"
    )
    LOCK.write_text(header + LOCK.read_text(encoding="utf-8"), encoding="utf-8")
    after = locked_pins()
    changed = [n for n in sorted(set(before) | set(after)) if before.get(n) != after.get(n)]
    for name in changed:
        print(f"  {name}: {before.get(name, '-')} -> {after.get(name, '-')}")
    print(f"lock: {len(after)} packages, {len(changed)} changed")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "write":
        write(upgrade="--upgrade" in argv)
        return 0
    if command == "check":
        problems = check()
        for problem in problems:
            print(f"lock: {problem}", file=sys.stderr)
        if problems:
            print(
                "lock: run `make lock` to re-lock, then commit requirements.lock", file=sys.stderr
            )
        return 1 if problems else 0
    if command == "freeze-diff":
        diff = freeze_diff()
        print("\n".join(diff))
        return 1 if diff else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
