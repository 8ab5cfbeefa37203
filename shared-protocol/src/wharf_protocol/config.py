"""Configuration files, environment overrides and unknown settings, for both services' ``serve``.

Each service reads its settings from environment variables ``<PREFIX>_<SECTION>_<KEY>`` with
one parser (``Settings.from_env``). A YAML file (``serve --config FILE``) gives the same
settings as a tree, by the reference registry's rule (distribution, "Override specific
configuration options"): the path of a value, upper-cased and joined by ``_`` under the
prefix, is its variable, and a variable set in the environment beats the file::

    storage:                            REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry
      filesystem:
        rootdirectory: /srv/registry

Values become strings: booleans ``true``/``false``, a list of scalars a comma-separated
value, a list of mappings ``<NAME>_<index>_<KEY>`` (distribution's list rule) unless the
dialect keeps that variable ``whole`` (one JSON value); a key whose
value is empty (``inmemory:``) sets nothing. A :class:`Dialect` says how another product's
names for the same settings (distribution's, for the Registry) become the service's own:
renamed, recognised but unsupported (reported, dropped), ignored, and sections whose one
key is a choice (``storage: {s3: ...}`` sets ``REGISTRY_STORAGE=s3``).

Unknown settings: a variable under the prefix is known when the parser read it, found by
running the parser once on a :class:`RecordingEnv` (the names come from the parser itself,
so a setting added to the parser is known without touching a list). Variables under
``<PREFIX>_TEST_`` belong to the test harness and are never read by a service, so they are
never reported. A name read by prefix (a storage driver's parameters) is known through
:func:`scan`. No Flask here: both services and their command lines use this module.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "ConfigFileError",
    "Dialect",
    "RecordingEnv",
    "Resolved",
    "flatten",
    "load_file",
    "resolve",
    "scan",
]


class ConfigFileError(ValueError):
    """The configuration file cannot be used; the message names the file (and the key)."""


class RecordingEnv(Mapping[str, str]):
    """A read-only environment that records every name looked up and every prefix scanned."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()
        self.prefixes: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.read.add(name)
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def knows(self, name: str) -> bool:
        """Tell whether the parser read ``name`` or scanned a prefix of it."""
        return name in self.read or any(name.startswith(p) for p in self.prefixes)


def scan(env: Mapping[str, str], prefix: str) -> dict[str, str]:
    """Return the variables of ``env`` under ``prefix``; a RecordingEnv records the prefix."""
    if isinstance(env, RecordingEnv):
        env.prefixes.add(prefix)
        env = env._values  # items() would record every name as read
    return {name: value for name, value in env.items() if name.startswith(prefix)}


def load_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML configuration file: a mapping (an empty file is an empty mapping)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise ConfigFileError(f"{path}: the top level must be a mapping of sections")
    return tree


def flatten(
    tree: Mapping[Any, Any], prefix: str, whole: frozenset[str] = frozenset()
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (variable -> value, variable -> YAML key path) for the values in ``tree``.

    The subtree of a variable in ``whole`` becomes one JSON value (a list of structured
    entries such as notification endpoints, whose header names and values must survive).
    """
    values: dict[str, str] = {}
    paths: dict[str, str] = {}

    def walk(node: Any, name: str, path: str) -> None:
        if name in whole and node is not None:
            values[name] = json.dumps(node, default=str)
            paths[name] = path
        elif isinstance(node, Mapping):
            for key, child in node.items():
                walk(child, f"{name}_{str(key).upper()}", f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and any(isinstance(item, Mapping | list) for item in node):
            for index, item in enumerate(node):
                walk(item, f"{name}_{index}", f"{path}[{index}]")
        elif node is not None:
            items = node if isinstance(node, list) else [node]
            values[name] = ",".join(_scalar(item) for item in items)
            paths[name] = path

    walk(tree, prefix, "")
    return values, paths


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Dialect:
    """How another product's configuration names map onto the service's variables.

    Every name is a full variable name (``REGISTRY_LOG_FORMATTER``); ``unsupported`` and
    ``ignored`` entries also match every name below them (``REGISTRY_PROXY`` matches
    ``REGISTRY_PROXY_REMOTEURL``). ``whole`` names variables whose file subtree is one JSON
    value (see :func:`flatten`). ``choices`` maps a section's variable to the keys of that
    section that are settings rather than the choice (``REGISTRY_STORAGE``: ``delete``,
    ``redirect``...); the one other key names the choice. ``finish`` adjusts the merged
    variables in place and returns (variable, reason) for what it could not use.
    """

    renamed: Mapping[str, str] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)
    ignored: frozenset[str] = frozenset()
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    whole: frozenset[str] = frozenset()
    finish: Callable[[dict[str, str]], list[tuple[str, str]]] | None = None

    def unsupported_reason(self, name: str) -> str | None:
        for key, reason in self.unsupported.items():
            if name == key or name.startswith(key + "_"):
                return reason
        return None

    def is_ignored(self, name: str) -> bool:
        return any(name == key or name.startswith(key + "_") for key in self.ignored)


@dataclass
class Resolved:
    """What ``serve`` runs with: the merged variables, the parsed settings or the error."""

    environ: dict[str, str]
    settings: Any = None
    error: ValueError | None = None
    findings: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)

    def describe(self, name: str) -> str:
        """Name a variable as the operator wrote it: its YAML key path when from the file."""
        return self.origins.get(name, name)


def resolve(
    prefix: str,
    environ: Mapping[str, str],
    parse: Callable[[Mapping[str, str]], Any],
    *,
    file: str | os.PathLike[str] | None = None,
    dialect: Dialect | None = None,
) -> Resolved:
    """Merge ``file`` (YAML) under ``environ``, translate ``dialect`` names, parse, report.

    ``parse`` is the service's ``Settings.from_env``; its ValueError (ConfigError) is kept in
    ``error``. ``findings`` names each unsupported or unknown setting (with the closest known
    name for a likely misspelling). Raises ConfigFileError when the file cannot be used.
    """
    dialect = dialect or Dialect()
    base = prefix + "_"
    findings: list[str] = []
    origins: dict[str, str] = {}
    layers: list[tuple[dict[str, str], dict[str, str]]] = []
    if file is not None:
        tree = load_file(file)
        values, paths = flatten(tree, prefix, dialect.whole)
        values.update(_choices(tree, prefix, dialect, file))
        where = os.path.basename(os.fspath(file))
        layers.append((values, {n: f"{p} in {where} ({n})" for n, p in paths.items()}))
    layers.append((dict(environ), {}))
    merged: dict[str, str] = {}
    for values, where_from in layers:
        translated = _translate(values, base, dialect, where_from, findings)
        merged.update(translated)
        for name in translated:  # a variable set again is described by its last setter
            if name in where_from:
                origins[name] = where_from[name]
            else:
                origins.pop(name, None)
    if dialect.finish is not None:
        for name, reason in dialect.finish(merged):
            findings.append(f"{origins.get(name, name)}: {reason}")
    recording = RecordingEnv(merged)
    settings, error = None, None
    try:
        settings = parse(recording)
    except ValueError as exc:
        error = exc
    candidates = sorted(n for n in recording.read if n.startswith(base)) + sorted(dialect.renamed)
    for name in sorted(merged):
        if _owned(name, base) and not recording.knows(name):
            hint = difflib.get_close_matches(name, candidates, n=1, cutoff=0.8)
            also = f"; did you mean {hint[0]}?" if hint else ""
            findings.append(f"{origins.get(name, name)}: unknown setting, ignored{also}")
    return Resolved(merged, settings, error, findings, origins)


def _owned(name: str, base: str) -> bool:
    """Tell whether ``name`` is the service's (under the prefix, not the harness's TEST_)."""
    return name.startswith(base) and not name.startswith(base + "TEST_")


def _choices(
    tree: Mapping[Any, Any], prefix: str, dialect: Dialect, file: object
) -> dict[str, str]:
    """Return ``{section variable: chosen key}`` for the dialect's choice sections."""
    chosen: dict[str, str] = {}
    for name, settings_keys in dialect.choices.items():
        section = tree.get(name[len(prefix) + 1 :].lower())
        if not isinstance(section, Mapping):
            continue
        keys = [str(k) for k in section if str(k).lower() not in settings_keys]
        if len(keys) > 1:
            raise ConfigFileError(
                f"{file}: {name[len(prefix) + 1 :].lower()}: configure exactly one of "
                f"{', '.join(keys)}"
            )
        if keys:
            chosen[name] = keys[0].lower()
    return chosen


def _translate(
    layer: Mapping[str, str],
    base: str,
    dialect: Dialect,
    origins: dict[str, str],
    findings: list[str],
) -> dict[str, str]:
    """Rename the dialect's names in one layer, dropping (and reporting) unsupported ones."""
    out: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for name, value in layer.items():
        if not _owned(name, base):
            out[name] = value
        elif dialect.is_ignored(name):
            continue
        elif (reason := dialect.unsupported_reason(name)) is not None:
            findings.append(f"{origins.get(name, name)}: not supported ({reason}), ignored")
        elif name in dialect.renamed:
            target = dialect.renamed[name]
            renamed[target] = value
            if name in origins:
                origins[target] = origins[name]
        else:
            out[name] = value
    # The service's own name wins over the foreign one within a layer.
    return {**renamed, **out}


def report(prog: str, resolved: Resolved, strict: bool, stream: Any) -> int | None:
    """Print findings and the parse error on ``stream``; return 2 to stop start-up, else None.

    Findings are warnings, or errors with ``strict``.
    """
    level = "error" if strict else "warning"
    for finding in resolved.findings:
        print(f"{prog}: {level}: {finding}", file=stream)
    if resolved.error is not None:
        print(f"{prog}: {resolved.error}", file=stream)
        return 2
    if strict and resolved.findings:
        count = len(resolved.findings)
        print(f"{prog}: --strict: {count} unknown or unsupported setting(s)", file=stream)
        return 2
    return None
