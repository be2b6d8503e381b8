"""The layers import downwards only: read from the source with ast, every import anywhere in a
module (inside functions too, and importlib.import_module with a literal name)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (package, what it must not import, modules of the package exempt from the rule)
RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("services", ("bot", "handlers", "run", "cli", "tests", "bench", "fakes", "tools"), ()),
    ("infra", ("services", "bot", "handlers", "render", "queues", "run", "cli", "tests"), ()),
    ("render", ("services", "infra", "bot", "handlers", "queues", "run", "cli", "tests"), ()),
    (
        "queues",
        ("services", "infra", "bot", "handlers", "render", "models", "run", "cli", "tests"),
        (),
    ),
    (
        "models",
        ("services", "infra", "bot", "handlers", "render", "queues", "run", "cli", "tests"),
        (),
    ),
    (
        "config",
        ("services", "infra", "bot", "handlers", "render", "queues", "run", "cli", "tests"),
        (),
    ),
    (
        "fakes",
        ("services", "infra", "bot", "handlers", "render", "queues", "models", "run", "cli"),
        (),
    ),
    # The bot holds conversation only: what it does goes through services, never the ORM.
    ("bot", ("handlers", "run", "cli", "tests", "bench", "models", "tortoise"), ()),
    # The app's composition hands the conversation engine to the embedded workers.
    ("handlers", ("bot", "run", "cli", "tests", "bench"), ("handlers.app",)),
]


def imported_names(source: str) -> Iterator[str]:
    """Every module name the source imports, statically or by importlib with a literal."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def modules_of(package: str) -> Iterator[tuple[str, Path]]:
    base = ROOT / package
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(p for p in parts if p != "__init__"), path


def violations(package: str, forbidden: tuple[str, ...], exempt: tuple[str, ...]) -> list[str]:
    found = []
    for module, path in modules_of(package):
        if module in exempt:
            continue
        for name in imported_names(path.read_text(encoding="utf-8")):
            if name.split(".")[0] in forbidden:
                found.append(f"{module} imports {name}")
    return sorted(set(found))


@pytest.mark.parametrize(
    ("package", "forbidden", "exempt"),
    RULES,
    ids=[f"{p}-imports-no-upper-layer" for p, *_ in RULES],
)
def test_a_layer_imports_nothing_from_the_layers_above_it(
    package: str, forbidden: tuple[str, ...], exempt: tuple[str, ...]
) -> None:
    assert list(modules_of(package)), f"no modules found under {package}/"
    assert violations(package, forbidden, exempt) == []


def test_the_import_walk_sees_imports_in_functions_and_through_importlib() -> None:
    source = (
        "import importlib\n"
        "from services.errors import NotFound\n"
        "def later():\n"
        "    from bot.engine import handle\n"
        "    return importlib.import_module('handlers.app')\n"
    )
    names = set(imported_names(source))
    assert {"services.errors", "bot.engine", "bot.engine.handle", "handlers.app"} <= names


def test_services_keeps_at_most_eight_top_level_modules() -> None:
    top_level = sorted(p.name for p in (ROOT / "services").glob("*.py"))
    assert len(top_level) <= 8, top_level
