"""The layering, read from the imports of every module (`ast`, no import executed): the core owns its ports and
depends on nothing outside it; adapters, handlers and the store depend inwards; only `bot.app` wires adapters in."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "handlers")
# Configuration is plain data validated at start; every layer may read its own section.
SHARED = ("bot.app.config",)


@dataclass(frozen=True, slots=True)
class Contract:
    """Modules under `source` must not import anything under `forbidden`, except under `allowed`."""

    name: str
    source: tuple[str, ...]
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = SHARED


CONTRACTS = (
    Contract(
        "the core (messages, ports, router, pipeline, outbox), knowledge and security depend on nothing outside them",
        ("bot.core", "bot.knowledge", "bot.security"),
        ("adapters", "handlers", "bot.desk", "bot.store", "bot.app"),
    ),
    Contract(
        "the store knows the core and the ticket domain, nothing of adapters, handlers or the desk's services",
        ("bot.store",),
        ("adapters", "handlers", "bot.app", "bot.desk"),
        (*SHARED, "bot.desk.domain"),
    ),
    Contract("the desk does not know adapters or handlers", ("bot.desk",), ("adapters", "handlers", "bot.app")),
    Contract("handlers decide: no store, no adapters", ("handlers",), ("adapters", "bot.store", "bot.app")),
    Contract(
        "adapters depend on the core's ports and the ticket domain, never on the store, handlers or wiring",
        ("adapters",),
        ("handlers", "bot.store", "bot.app", "bot.desk.tickets", "bot.desk.report"),
    ),
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module: str, path: Path) -> set[str]:
    """Every module `module` imports, at any depth of its code (also inside functions and TYPE_CHECKING)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from X import Y` is recorded as X.Y, so `from bot.desk import domain` counts as bot.desk.domain.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _violations(contract: Contract, modules: dict[str, Path]) -> list[str]:
    broken = []
    for module, path in sorted(modules.items()):
        if not _under(module, contract.source):
            continue
        for name in sorted(_imports(module, path)):
            if _under(name, contract.forbidden) and not _under(name, contract.allowed):
                broken.append(f"{module} imports {name}")
    return broken


def test_every_contract_holds() -> None:
    modules = _modules()
    assert len(modules) > 40, "the modules were not found"
    broken = {c.name: v for c in CONTRACTS if (v := _violations(c, modules))}
    assert broken == {}


def test_the_check_catches_a_reverse_import(tmp_path: Path) -> None:
    """The test can fail: a core module importing an adapter is reported."""
    module = tmp_path / "outbox.py"
    module.write_text("from adapters.base import InMemoryChannel\nimport bot.core.messages\n")
    contract = CONTRACTS[0]
    assert _violations(contract, {"bot.core.outbox": module}) == [
        "bot.core.outbox imports adapters.base.InMemoryChannel"
    ]


def test_only_the_app_imports_adapters() -> None:
    modules = _modules()
    importers = {m for m, p in modules.items() if any(_under(n, ("adapters",)) for n in _imports(m, p))}
    assert {m for m in importers if not _under(m, ("bot.app", "adapters"))} == set()
