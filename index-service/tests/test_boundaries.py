"""Boundaries: the Index depends on wharf_protocol only, never on the Registry; inside it,
the layers depend downwards only (api -> services -> domain; adapters -> domain).

The layer rules read the source files (every ``import``, also those inside functions, and
``importlib.import_module("...")`` with a literal name), so an import made lazily or late
cannot hide from them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import wharf_index
from wharf_index.services.unit_of_work import UnitOfWork
from wharf_testing import imported_modules

PACKAGE = Path(wharf_index.__file__).parent
OWN = "wharf_index"
STORES = {name for name, member in vars(UnitOfWork).items() if isinstance(member, property)} - {
    "config"
}
FRAMEWORKS = ("flask", "werkzeug", "psycopg2", "requests", "gunicorn")
OUTER = tuple(
    f"{OWN}.{name}"
    for name in (
        "api",
        "web",
        "app",
        "context",
        "cli",
        "cli_registry_ops",
        "cli_housekeeping",
        "cli_keys",
        "cli_worker",
        "wsgi",
        "gunicorn_conf",
        "health",
    )
)

# layer -> what no module of it may import (a module, or anything under it)
RULES = {
    "domain": (f"{OWN}.services", f"{OWN}.adapters", *OUTER, *FRAMEWORKS),
    "services": (f"{OWN}.adapters", *OUTER, *FRAMEWORKS),
    "api": (f"{OWN}.adapters", "psycopg2", "requests"),
}


def test_index_imports_nothing_of_the_registry():
    loaded = imported_modules("wharf_index", skip=("wharf_index.wsgi",))
    assert "wharf_index" in loaded
    assert "wharf_registry" not in loaded


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module the file ``path`` imports."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return _imports_in(path.read_text(), package)


def _imports_in(source: str, package: str) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports; for ``from a import b``
    both ``a`` and ``a.b`` (``b`` may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and _is_dynamic_import(node.func)
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _sources(layer: str) -> list[Path]:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, layer
    return files


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layers_import_only_downwards(layer):
    wrong = {
        f"{_module_name(path)} imports {module}"
        for path in _sources(layer)
        for module in _imports(path)
        if _under(module, RULES[layer])
    }
    assert not wrong, sorted(wrong)


def test_the_scanner_sees_lazy_relative_and_dynamic_imports():
    source = (
        "import importlib\n\ndef f():\n    from ..adapters import db\n"
        "    from . import x\n    importlib.import_module('psycopg2.extras')\n"
    )
    found = _imports_in(source, f"{OWN}.services")
    assert {f"{OWN}.adapters.db", f"{OWN}.services.x", "psycopg2.extras"} <= found
    assert _under(f"{OWN}.adapters.db", RULES["services"])
    assert not _under(f"{OWN}.adapters_x", RULES["services"])


def test_services_import_each_other_without_cycles():
    graph = {
        _module_name(path): {m for m in _imports(path) if m.startswith(f"{OWN}.services.")}
        for path in _sources("services")
    }
    cycles = set()

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if node in trail:
            loop = trail[trail.index(node) :]
            first = loop.index(min(loop))  # one spelling per cycle, whatever its start
            cycles.add(" -> ".join(loop[first:] + loop[:first] + (loop[first],)))
            return
        for target in sorted(graph.get(node, ())):
            visit(target, trail + (node,))

    for module in sorted(graph):
        visit(module, ())
    assert not cycles, sorted(cycles)


def test_no_module_imports_the_private_names_of_another():
    """What two modules share is public in one of them (e.g. adapters/repository_rows.py)."""
    wrong = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith(OWN)
            ):
                wrong.update(
                    f"{_module_name(path)}:{node.lineno} {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                )
    assert not wrong, sorted(wrong)


def _store_accesses(path: Path) -> set[str]:
    """``uow.<store>`` / ``uow().<store>`` in ``path``: a store reached past the services."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Attribute) or node.attr not in STORES:
            continue
        target = node.value.func if isinstance(node.value, ast.Call) else node.value
        if isinstance(target, ast.Name | ast.Attribute) and "uow" in ast.unparse(target):
            found.add(f"{_module_name(path)}:{node.lineno} {ast.unparse(node)}")
    return found


def test_the_command_line_and_the_api_reach_stores_through_services_only():
    files = [*_sources("api"), *sorted(PACKAGE.glob("cli*.py")), PACKAGE / "health.py"]
    wrong = set().union(*(_store_accesses(path) for path in files))
    assert not wrong, sorted(wrong)
