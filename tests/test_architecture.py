"""Dependencies point inward: bot -> adapters -> core (STYLE.md, habit 1)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_core_imports_no_platform_sdk_and_no_outer_layer() -> None:
    forbidden = {"discord", "telegram", "adapters", "bot"}
    modules = imported_modules("core")
    assert len(modules) > 10
    for path, names in modules.items():
        assert not names & forbidden, f"{path} imports {names & forbidden}"
