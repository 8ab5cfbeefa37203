"""Secrets kept in ``<data dir>/secrets/`` (directory 0700, files 0600).

Files are written to a temporary name and renamed, so a crash never leaves half a secret;
the services read them through their ``*_FILE`` variables, never from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable


def secret_path(directory: str, name: str) -> str:
    return os.path.join(directory, name)


def write_secret(directory: str, name: str, value: str) -> str:
    """Write ``value`` to ``directory/name`` with mode 0600; return the path."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    path = secret_path(directory, name)
    staging = path + ".tmp"
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(staging, 0o600)
    os.replace(staging, path)
    return path


def read_secret(directory: str, name: str) -> str | None:
    """The stripped content of ``directory/name``, or None when it does not exist."""
    try:
        with open(secret_path(directory, name), encoding="utf-8") as fh:
            return fh.read().strip() or None
    except FileNotFoundError:
        return None


def read_or_create(directory: str, name: str, factory: Callable[[], str]) -> str:
    """Return the stored secret, creating it with ``factory()`` on first use."""
    value = read_secret(directory, name)
    if value is None:
        value = factory()
        write_secret(directory, name, value)
    return value
