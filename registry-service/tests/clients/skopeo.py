"""Run skopeo (a real registry client) against a plain-HTTP registry on loopback.

Thin wrappers over the command line: each returns the completed process, or raises
:class:`SkopeoFailed` carrying skopeo's stderr, unless ``check=False``.
TLS verification is off because the test registries speak plain HTTP on 127.0.0.1
(containers/image then falls back from https to http).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

TIMEOUT = 120


class SkopeoFailed(AssertionError):
    """skopeo exited non-zero; ``stderr`` holds its message."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"skopeo {' '.join(args[1:3])}... exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``skopeo ARGS``; raise SkopeoFailed on a non-zero exit when ``check``."""
    argv = ["skopeo", "--insecure-policy", *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and result.returncode != 0:
        raise SkopeoFailed(argv, result.returncode, result.stderr)
    return result


def _creds(option: str, creds: str | None) -> list[str]:
    """Return ``[option, "user:password"]``, or nothing for an anonymous request."""
    return [option, creds] if creds else []


def push(
    layout: Path,
    tag: str,
    ref: str,
    *,
    all_images: bool = False,
    creds: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Copy ``oci:LAYOUT:TAG`` to ``docker://REF`` keeping every digest."""
    return run(
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        *(["--all"] if all_images else []),
        *_creds("--dest-creds", creds),
        f"oci:{layout}:{tag}",
        f"docker://{ref}",
        check=check,
    )


def pull(
    ref: str, layout: Path, tag: str, *, all_images: bool = False, creds: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Copy ``docker://REF`` into a fresh OCI layout ``LAYOUT:TAG``, keeping every digest."""
    return run(
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        *(["--all"] if all_images else []),
        *_creds("--src-creds", creds),
        f"docker://{ref}",
        f"oci:{layout}:{tag}",
    )


def inspect_raw(ref: str, *, creds: str | None = None) -> bytes:
    """Return the manifest bytes exactly as the registry serves them."""
    argv = [
        "skopeo",
        "--insecure-policy",
        "inspect",
        "--raw",
        "--tls-verify=false",
        *_creds("--creds", creds),
        f"docker://{ref}",
    ]
    result = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        raise SkopeoFailed(argv, result.returncode, result.stderr.decode(errors="replace"))
    return result.stdout


def list_tags(repository: str, *, creds: str | None = None) -> list[str]:
    """Return the tags of ``docker://REPOSITORY``."""
    result = run(
        "list-tags", "--tls-verify=false", *_creds("--creds", creds), f"docker://{repository}"
    )
    return json.loads(result.stdout)["Tags"]


def delete(ref: str, *, creds: str | None = None) -> subprocess.CompletedProcess[str]:
    """Delete the manifest ``REF`` points at (by its digest, as skopeo does)."""
    return run("delete", "--tls-verify=false", *_creds("--creds", creds), f"docker://{ref}")
