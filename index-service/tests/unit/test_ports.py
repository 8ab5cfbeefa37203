"""The adapters implement the ports the services depend on, and the services use nothing
else of them: PgUnitOfWork offers every store the UnitOfWork Protocol declares, each SQL
store has every method of its Protocol with the same parameters (names, kinds, defaults,
annotations) and return annotation, RegistryHTTP implements RegistryClient, and every
``uow.<store>.<method>`` the services call is declared. Checked with inspect and the
source, so an implementation and its port cannot drift apart silently."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest
from wharf_index.adapters.registry_http import RegistryHTTP
from wharf_index.adapters.unit_of_work import STORES, PgUnitOfWork
from wharf_index.domain.registry_client import RegistryClient
from wharf_index.services import unit_of_work
from wharf_index.services.config import ServiceConfig
from wharf_index.services.unit_of_work import UnitOfWork

SERVICES = Path(unit_of_work.__file__).parent


def _members() -> dict[str, type]:
    """The UnitOfWork Protocol's read-only members and their declared types."""
    return {
        name: typing.get_type_hints(member.fget)["return"]
        for name, member in vars(UnitOfWork).items()
        if isinstance(member, property)
    }


def _store_ports() -> dict[str, type]:
    return {name: port for name, port in _members().items() if name != "config"}


def _methods(port: type) -> dict[str, typing.Callable]:
    return {
        name: value
        for name, value in vars(port).items()
        if inspect.isfunction(value)
        and (not name.startswith("_") or name in ("__enter__", "__exit__"))
    }


def _shape(function) -> tuple:
    signature = inspect.signature(function)
    return (
        [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()],
        signature.return_annotation,
    )


def _drift(port: type, implementation: type) -> list[str]:
    """How ``implementation`` differs from ``port`` (empty: it implements it)."""
    problems = []
    for name, declared in _methods(port).items():
        found = getattr(implementation, name, None)
        if found is None:
            problems.append(f"{implementation.__name__}.{name} is missing")
        elif _shape(found) != _shape(declared):
            problems.append(
                f"{implementation.__name__}.{name}{inspect.signature(found)}"
                f" is not {name}{inspect.signature(declared)}"
            )
    return problems


def test_the_unit_of_work_offers_every_declared_store():
    assert set(STORES) == set(_store_ports())
    assert _members()["config"] is ServiceConfig
    uow = PgUnitOfWork(None, ServiceConfig())  # no connection until ``with``
    assert isinstance(uow.config, ServiceConfig)
    for name in ("__enter__", "__exit__", "reading"):
        declared = inspect.signature(getattr(UnitOfWork, name)).parameters
        assert list(inspect.signature(getattr(PgUnitOfWork, name)).parameters) == list(declared)


@pytest.mark.parametrize("name", sorted(STORES))
def test_every_sql_store_implements_its_port(name):
    port = _store_ports()[name]
    assert _methods(port), f"{port.__name__} declares nothing"
    assert _drift(port, STORES[name]) == []


def test_the_http_client_implements_the_registry_client_port():
    assert _drift(RegistryClient, RegistryHTTP) == []


def test_the_check_catches_drift():
    class Port(typing.Protocol):
        def get(self, name: str) -> int: ...
        def put(self, name: str, *, force: bool = False) -> None: ...
        def gone(self) -> None: ...

    class Drifted:
        def get(self, name: str) -> int: ...
        def put(self, name: str, force: bool = False) -> None: ...  # no longer keyword-only

    assert _drift(Port, Drifted) == [
        "Drifted.put(self, name: 'str', force: 'bool' = False) -> 'None' is not"
        " put(self, name: 'str', *, force: 'bool' = False) -> 'None'",
        "Drifted.gone is missing",
    ]


def _store_calls() -> set[tuple[str, str, str]]:
    """(module, store, method) of every ``uow.<store>.<method>`` in services/."""
    calls = set()
    for path in sorted(SERVICES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "uow"
            ):
                calls.add((path.stem, node.value.attr, node.attr))
    return calls


def test_the_services_call_only_what_the_ports_declare():
    ports = _store_ports()
    calls = _store_calls()
    assert len(calls) > 100  # the scan sees the services' calls
    undeclared = sorted(
        f"{module}: uow.{store}.{method}"
        for module, store, method in calls
        if store != "config" and method not in _methods(ports.get(store, object))
    )
    assert undeclared == []
