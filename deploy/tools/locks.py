"""The hashed dependency locks: which pyproject requirements each lock covers, and how
``deploy/lock`` regenerates them with pip-tools (``pip-compile --generate-hashes``).

Three locks, every line ``name==version`` with the ``--hash=sha256:`` of each file PyPI has
for that release (pip's hash-checking mode, see ``pip install --require-hashes``):

* ``testing/requirements.lock``: every third-party requirement of the four packages,
  runtime and all extras; each tox environment installs it, then the local packages with
  ``--no-deps``. Compiled first.
* ``registry-service/requirements.lock`` and ``index-service/requirements.lock``: what each
  image installs (runtime only), compiled with the test lock's versions as constraints, so
  an image runs exactly the versions the tests ran.

The local packages (``wharf-*``) are never in a lock: their requirements are expanded in
place, with the extras asked for. ``tests-integration/test_deploy_files.py`` uses
:func:`requirements` and :func:`parse_lock` to fail when a lock falls behind a pyproject.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INDEX_URL = "https://pypi.org/simple"
PYTHON = (3, 11)  # the images' Python (deploy/*.Dockerfile): markers resolve for it

# Distribution name -> directory of the local packages.
LOCAL = {
    "wharf-protocol": "shared-protocol",
    "wharf-registry": "registry-service",
    "wharf-index": "index-service",
    "wharf-testing": "testing",
}


@dataclass(frozen=True)
class Lock:
    """One lock file: ``path`` (from the root) covering ``roots`` (name, extras) and,
    when ``constrained``, pinned to the test lock's versions."""

    path: str
    roots: tuple[tuple[str, tuple[str, ...]], ...]
    constrained: bool


TEST_LOCK = Lock(
    "testing/requirements.lock",
    (
        ("wharf-protocol", ("client", "serving", "test")),
        ("wharf-registry", ("test",)),
        ("wharf-index", ("test",)),
        ("wharf-testing", ()),
    ),
    constrained=False,
)
LOCKS = (
    TEST_LOCK,
    Lock("registry-service/requirements.lock", (("wharf-registry", ()),), constrained=True),
    Lock("index-service/requirements.lock", (("wharf-index", ()),), constrained=True),
)


def requirements(roots) -> list[str]:
    """The third-party requirement strings of ``roots`` ((name, extras) pairs), local
    packages expanded recursively with their extras, in first-seen order, no duplicates."""
    from packaging.requirements import Requirement

    found: dict[str, None] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(name, tuple(extras)) for name, extras in roots]
    while pending:
        name, extras = pending.pop(0)
        for extra in ("", *extras):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            project = tomllib.loads((ROOT / LOCAL[name] / "pyproject.toml").read_text())
            project = project["project"]
            listed = (
                project.get("optional-dependencies", {})[extra]
                if extra
                else project.get("dependencies", [])
            )
            for text in listed:
                requirement = Requirement(text)
                if requirement.name in LOCAL:
                    pending.append((requirement.name, tuple(sorted(requirement.extras))))
                else:
                    found.setdefault(text, None)
    return list(found)


@dataclass(frozen=True)
class Pin:
    """One locked line: canonical ``name``, exact ``version`` and its ``hashes``."""

    name: str
    version: str
    hashes: tuple[str, ...]


class LockError(ValueError):
    """A lock line that is not ``name==version`` followed by at least one hash."""


def parse_lock(text: str) -> dict[str, Pin]:
    """The pins of a pip-compile lock (comments dropped, continuation lines joined)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, Pin] = {}
    joined = re.sub(r"\\\n", " ", text)
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        head, *hash_parts = re.split(r"\s+--hash[= ]", line)
        hashes = tuple(h.strip() for h in hash_parts)
        requirement = Requirement(head.strip())
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            raise LockError(f"not pinned with ==: {head.strip()}")
        if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes):
            raise LockError(f"no sha256 hash: {head.strip()}")
        pins[canonicalize_name(requirement.name)] = Pin(
            canonicalize_name(requirement.name), specifiers[0].version, hashes
        )
    return pins


def _isolated_env() -> dict[str, str]:
    """The environment without the caller's pip configuration (mirrors, find-links,
    constraints): a lock must come from PyPI alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["CUSTOM_COMPILE_COMMAND"] = "./deploy/lock"  # the header's "to update, run"
    return env


def compile_lock(lock: Lock, pip_compile: str, upgrade: bool, workdir: Path) -> None:
    """Run pip-compile for ``lock`` in ``workdir`` (stable file names, so the annotations
    in the lock do not name temporary paths)."""
    name = Path(lock.path).parent.name
    source = workdir / f"{name}.in"
    lines = requirements(lock.roots)
    if lock.constrained:
        tested = parse_lock((ROOT / TEST_LOCK.path).read_text())
        (workdir / "tested-versions.txt").write_text(
            "".join(f"{pin.name}=={pin.version}\n" for pin in tested.values())
        )
        lines.append("-c tested-versions.txt")
    source.write_text("".join(f"{line}\n" for line in lines))
    output = ROOT / lock.path
    argv = [
        pip_compile,
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--resolver=backtracking",
        "--index-url",
        INDEX_URL,
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--output-file",
        str(output),
        *(["--upgrade"] if upgrade else []),
        source.name,
    ]
    subprocess.run(argv, cwd=workdir, env=_isolated_env(), check=True)  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deploy/lock",
        description="Regenerate testing/, registry-service/ and index-service/"
        "requirements.lock from the pyproject files (pip-compile --generate-hashes, PyPI). "
        "Without --upgrade, versions already locked are kept when they still fit.",
    )
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions")
    parser.add_argument("--pip-compile", default=shutil.which("pip-compile") or "pip-compile")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != PYTHON:
        parser.error(
            f"run with Python {PYTHON[0]}.{PYTHON[1]} (the images' version), "
            f"not {sys.version_info[0]}.{sys.version_info[1]}"
        )
    with tempfile.TemporaryDirectory(prefix="wharf-lock-") as tmp:
        for lock in LOCKS:
            print(f"lock: {lock.path}", file=sys.stderr)
            try:
                compile_lock(lock, args.pip_compile, args.upgrade, Path(tmp))
            except subprocess.CalledProcessError as exc:
                print(f"lock: error: pip-compile exited {exc.returncode}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
