"""The architecture, guarded (docs/ARCHITECTURE.md): dependencies point inward (bot ->
adapters -> core), the core's parts are layered without cycles, the chat adapters know
nothing of each other and reach the core only through its doors, and nothing outside a
package imports its private (`_name`) modules."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("core", "adapters", "bot", "bench")

# The core's parts, lowest first: a part imports only parts of a lower layer.
LAYERS = (
    {"terms"},
    {"errors", "clock", "secret", "metrics"},
    {"requests"},
    {"jobs"},
    {"modelscope", "delivery"},
    {"images"},
    {"execution"},
    {"scheduling"},
    {"stores"},
    {"service"},
)
# What a chat adapter may import of the core: value types, words, images, and the doors.
ADAPTERS_MAY_USE = {
    "core",
    "core.clock",
    "core.errors",
    "core.secret",
    "core.terms",
    "core.jobs",
    "core.requests",
    "core.delivery",
    "core.images",
    "core.service",
}
DOORS = {"GenerationService", "CommunityAdmin", "Actor"}
SAME_ROLES = {
    "lifecycle",
    "commands",
    "buttons",
    "keyboards",
    "admin",
    "render",
    "who",
    "target",
    "options",
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module's path, from the root
    module: str  # the imported module
    names: tuple[str, ...]  # the names taken from it (empty for `import module`)


def imports(*packages: str) -> list[Import]:
    found = []
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            source = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found += [Import(source, alias.name, ()) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = tuple(alias.name for alias in node.names)
                    found.append(Import(source, node.module, names))
    return found


def package_of(source: str) -> str:
    """`core/service/admin.py` -> `core.service`."""
    return ".".join(Path(source).parent.parts)


def test_the_core_imports_no_platform_sdk_and_no_outer_layer() -> None:
    found = imports("core")
    assert len(found) > 100
    for one in found:
        top = one.module.split(".")[0]
        assert top not in {"discord", "telegram", "adapters", "bot"}, one
        if top == "redis":
            assert one.source.startswith("core/stores/redis/"), one
        if top == "aiosqlite":
            assert one.source in ("core/stores/sqlite.py", "core/stores/_sqlite_file.py"), one


def test_the_cores_parts_are_layered_without_cycles() -> None:
    level = {part: i for i, layer in enumerate(LAYERS) for part in layer}
    for one in imports("core"):
        parts = one.source.split("/")
        if not one.module.startswith("core.") or len(parts) < 2:
            continue
        importer = parts[1].removesuffix(".py")
        imported = one.module.split(".")[1]
        if importer != imported and importer in level:
            assert level[imported] < level[importer], f"{one.source} imports {one.module}"


def test_chat_adapters_know_nothing_of_each_other() -> None:
    for one in imports("adapters"):
        own = one.source.split("/")[1]
        for other in ("telegram", "discord", "cli"):
            if other != own:
                assert not one.module.startswith(f"adapters.{other}"), one


def test_adapters_reach_the_core_through_its_doors_only() -> None:
    for one in imports("adapters"):
        if one.module.split(".")[0] != "core":
            continue
        assert one.module in ADAPTERS_MAY_USE, f"{one.source} imports {one.module}"
        if one.module == "core.service":
            assert set(one.names) <= DOORS, one


def test_nothing_outside_a_package_imports_its_private_modules() -> None:
    for one in imports(*PRODUCT):
        parts = one.module.split(".")
        private = [i for i, part in enumerate(parts) if part.startswith("_")]
        if not private:
            continue
        owner = ".".join(parts[: private[0]])
        assert package_of(one.source).startswith(owner), f"{one.source} imports {one.module}"


def test_the_same_role_has_the_same_file_in_both_chat_adapters() -> None:
    for platform in ("telegram", "discord"):
        files = {path.stem for path in (ROOT / "adapters" / platform).glob("*.py")}
        assert files >= SAME_ROLES, f"adapters/{platform} lacks {SAME_ROLES - files}"
