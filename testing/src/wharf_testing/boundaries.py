"""Check which top-level packages importing a package pulls in.

The import happens in a fresh interpreter, so what the test process already imported
(pytest, Flask for other tests, ...) does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module({package!r})
skip = set({skip!r})
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if info.name not in skip:
        importlib.import_module(info.name)
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def imported_modules(package: str, skip: tuple[str, ...] = ()) -> set[str]:
    """Import ``package`` and every submodule but ``skip``; return the top-level names loaded."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(package=package, skip=list(skip))],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"importing {package} failed:\n{result.stderr}")
    return set(json.loads(result.stdout))
