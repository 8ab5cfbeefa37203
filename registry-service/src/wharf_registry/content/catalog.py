"""The repository catalog (``GET /v2/_catalog``, reserved by the spec, implemented as distribution).

Repository names are paths (``a/b/c``), stored as nested directories under
``repositories/``. The catalog is the depth-first walk of that tree in sorted order, a name
listed before the names it prefixes: ``a``, ``a/b``, ``a-c``, ``b`` (the order of the
component tuples). ``last`` resumes the walk just after a name, descending only along its
path and listing siblings with ``list(start_after, limit)``, so a page costs work in
proportion to the page (plus the depth of ``last``), not to the registry.
A directory is a repository when it holds ``_manifests`` or ``_layers``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..storage.base import PathNotFound, StorageDriver
from . import paths

BATCH = 100
MAX_FILTERED = 1000  # names handed to the visibility filter at once (the Index's limit)


class Catalog:
    """List repositories page by page."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def page(
        self,
        n: int,
        last: str | None = None,
        visible: Callable[[list[str]], list[str]] = lambda names: names,
    ) -> tuple[list[str], bool]:
        """Return up to ``n`` visible repository names after ``last``, and whether more follow.

        ``visible`` filters a batch of names (in walk order), keeping their order: one call
        per batch, so a filter that asks another service asks once per batch, not per name.
        The first batch is what the page still needs plus one; each next one, after a filter
        hid names, is twice as large (at most MAX_FILTERED), so a caller who may see little of
        a large registry costs few calls.
        """
        names: list[str] = []
        batch: list[str] = []
        size = min(MAX_FILTERED, n + 1)
        for name in self._walk(paths.REPOSITORIES, "", (tuple(last.split("/")) if last else ())):
            batch.append(name)
            if len(batch) >= size:
                names.extend(visible(batch))
                batch, size = [], min(MAX_FILTERED, size * 2)
                if len(names) > n:
                    return names[:n], True
        if batch:
            names.extend(visible(batch))
        return names[:n], len(names) > n

    def _walk(self, directory: str, prefix: str, after: tuple[str, ...]) -> Iterator[str]:
        """Yield the repositories strictly below ``directory`` that sort after ``after``."""
        start = None
        if after:
            first = after[0]
            child = f"{directory}/{first}"
            if self._is_dir(child):
                name = prefix + first
                if len(after) == 1:
                    yield from self._walk(child, name + "/", ())
                else:
                    yield from self._walk(child, name + "/", after[1:])
            start = child
        yield from self._siblings(directory, prefix, start)

    def _siblings(self, directory: str, prefix: str, start: str | None) -> Iterator[str]:
        while True:
            try:
                batch = self.driver.list(directory, start_after=start, limit=BATCH)
            except PathNotFound:
                return
            for child in batch:
                component = paths.basename(child)
                if component.startswith("_"):
                    continue
                name = prefix + component
                if self._is_repository(child):
                    yield name
                yield from self._walk(child, name + "/", ())
            if len(batch) < BATCH:
                return
            start = batch[-1]

    def _is_repository(self, directory: str) -> bool:
        return any(self._is_dir(f"{directory}/{m}") for m in ("_manifests", "_layers"))

    def _is_dir(self, path: str) -> bool:
        try:
            return self.driver.stat(path).is_dir
        except PathNotFound:
            return False
