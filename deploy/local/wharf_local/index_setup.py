"""The Index's first-run steps, each idempotent, all through the ``wharf-index`` CLI.

- ``migrate``: apply pending migrations.
- ``ensure_admin``: create the administrator ``admin`` unless a user of that name exists
  (password from WHARF_ADMIN_PASSWORD, else generated; returned so it is printed once).
- ``ensure_registry``: register the registry ``local`` (kind sponsor, serving every
  namespace no other registry claims) and keep the credential that ``registry add`` prints
  once in ``<data dir>/secrets/registry-local.credential`` (0600).
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping, Sequence

from .secretfiles import read_secret, secret_path, write_secret

ADMIN = "admin"
REGISTRY = "local"
CREDENTIAL_FILE = f"registry-{REGISTRY}.credential"


class SetupProblem(RuntimeError):
    """A ``wharf-index`` step failed; the message carries its output."""


def _run(
    cli: Sequence[str], args: Sequence[str], env: Mapping[str, str], stdin: str | None = None
) -> str:
    result = subprocess.run(
        [*cli, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise SetupProblem(
            f"wharf-index {' '.join(args)} failed (status {result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


def migrate(cli: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    out = _run(cli, ["migrate"], env)
    return [
        line.removeprefix("applied ").strip()
        for line in out.splitlines()
        if line.startswith("applied ")
    ]


def ensure_admin(cli: Sequence[str], env: Mapping[str, str], password: str | None) -> str | None:
    """Create ``admin`` if missing; return its password when created now, else None."""
    users = [line.split("\t", 1)[0] for line in _run(cli, ["user", "list"], env).splitlines()]
    if ADMIN in users:
        return None
    password = password or secrets.token_urlsafe(15)
    _run(
        cli,
        [
            "user",
            "create",
            ADMIN,
            "--email",
            "admin@wharf.localhost",
            "--password-stdin",
            "--admin",
        ],
        env,
        stdin=password + "\n",
    )
    return password


def _registries(cli: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """Registry name -> URL, from ``wharf-index registry list``."""
    found = {}
    for line in _run(cli, ["registry", "list"], env).splitlines():
        fields = line.split("\t")
        if len(fields) >= 3:
            found[fields[0]] = fields[2]
    return found


def _credential_from(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines or " " in lines[-1]:
        raise SetupProblem(f"unexpected output from wharf-index (no credential):\n{output}")
    return lines[-1]


def ensure_registry(
    cli: Sequence[str], env: Mapping[str, str], secrets_dir: str, url: str
) -> tuple[str, list[str]]:
    """Register ``local`` once; return (credential file path, warnings to show)."""
    warnings: list[str] = []
    known = _registries(cli, env)
    stored = read_secret(secrets_dir, CREDENTIAL_FILE)
    if REGISTRY not in known:
        out = _run(cli, ["registry", "add", REGISTRY, "--url", url, "--kind", "sponsor"], env)
        return write_secret(secrets_dir, CREDENTIAL_FILE, _credential_from(out)), warnings
    if stored is None:
        try:
            out = _run(cli, ["registry", "rotate-credential", REGISTRY], env)
        except SetupProblem as exc:
            raise SetupProblem(
                f"the Index knows registry '{REGISTRY}' but its credential is not in "
                f"{secret_path(secrets_dir, CREDENTIAL_FILE)}, and it could not be renewed "
                f"({exc}).\n  Remove the registry record (wharf-index registry remove "
                f"{REGISTRY}) or restore the file, then run up again."
            ) from exc
        warnings.append(f"registry '{REGISTRY}' had no stored credential: issued a new one")
        return write_secret(secrets_dir, CREDENTIAL_FILE, _credential_from(out)), warnings
    if known[REGISTRY].rstrip("/") != url:
        warnings.append(
            f"the Index records registry '{REGISTRY}' at {known[REGISTRY]}, not "
            f"{url}: repository deletion from the Index will not reach it "
            f"(use the earlier --registry-port and the same --tls choice)"
        )
    return secret_path(secrets_dir, CREDENTIAL_FILE), warnings
