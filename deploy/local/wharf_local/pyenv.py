"""The Python environment the services run in: ``.wharf/venv`` in the checkout.

Created with ``python3 -m venv`` on first use; the three packages (``shared-protocol``,
``registry-service``, ``index-service``) are installed editable from this checkout with pip,
so code edits need no reinstall. A stamp file holds a hash of the three ``pyproject.toml``
files and the interpreter version: pip runs again only when that changes. ``--python``
skips all of this and uses an interpreter whose environment already has the packages.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv

PACKAGES = ("shared-protocol[client]", "registry-service", "index-service")
STAMP = ".wharf-up-installed"
CREATED = ".wharf-up-created"


class EnvironmentProblem(RuntimeError):
    """The virtualenv could not be made or lacks the packages; the message says why."""


def command(python: str, package: str) -> list[str]:
    """The argv prefix running ``package``'s command line (``wharf_index`` -> wharf-index).

    ``python -c`` rather than the console script: it works for any interpreter given with
    ``--python``, wherever its scripts directory is.
    """
    return [python, "-c", f"import sys; from {package}.cli import main; sys.exit(main())"]


def _fingerprint(checkout: str) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for package in PACKAGES:
        path = os.path.join(checkout, package.split("[")[0], "pyproject.toml")
        with open(path, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()


def ensure_venv(checkout: str, venv_dir: str, say) -> str:
    """Create/refresh the virtualenv; return its python. ``say`` prints progress."""
    python = os.path.join(venv_dir, "bin", "python")
    created = os.path.join(venv_dir, CREATED)
    if not os.path.exists(created):  # absent, or an earlier creation was interrupted
        say(f"creating a virtualenv in {venv_dir}")
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(venv_dir, ignore_errors=True)
            raise EnvironmentProblem(
                f"could not create a virtualenv in {venv_dir}: {exc}\n"
                "  Debian/Ubuntu: apt-get install python3-venv"
            ) from exc
        with open(created, "w", encoding="utf-8") as fh:
            fh.write("created by ./deploy/local/up\n")
    stamp = os.path.join(venv_dir, STAMP)
    wanted = _fingerprint(checkout)
    try:
        with open(stamp, encoding="utf-8") as fh:
            current = fh.read().strip()
    except OSError:
        current = ""
    if current != wanted:
        _install(checkout, venv_dir, python, say)
        with open(stamp, "w", encoding="utf-8") as fh:
            fh.write(wanted + "\n")
    return python


def _install(checkout: str, venv_dir: str, python: str, say) -> None:
    say(
        "installing wharf-protocol, wharf-registry and wharf-index (editable) with pip; "
        "this takes a minute the first time"
    )
    argv = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    for package in PACKAGES:
        argv += ["-e", os.path.join(checkout, package)]
    log_path = os.path.join(venv_dir, "pip-install.log")
    with open(log_path, "wb") as log:
        code = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    if code != 0:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            tail = "\n".join(fh.read().splitlines()[-20:])
        raise EnvironmentProblem(f"pip install failed (status {code}); {log_path} ends:\n{tail}")


def check_packages(python: str, own_venv: bool) -> None:
    """Raise EnvironmentProblem unless ``python`` imports both services and psycopg2."""
    probe = "import wharf_index.cli, wharf_registry.cli, psycopg2"
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        hint = (
            "remove .wharf/venv and run up again to rebuild it"
            if own_venv
            else "install them there (pip install -e 'shared-protocol[client]' "
            "-e registry-service -e index-service) or drop --python"
        )
        raise EnvironmentProblem(
            f"{python} cannot import the Wharf services:\n{result.stderr.strip()}\n  {hint}"
        )
