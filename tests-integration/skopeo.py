"""skopeo, the real client, run on the client host with its own config in a temp directory.

Nothing of the user's is read or written: ``HOME``, ``XDG_*`` and the auth file point into
the work directory, and the signature policy is a local "accept anything" file. Registries
speak plain HTTP in most stacks, hence ``--tls-verify=false`` (skopeo then falls back from
HTTPS to HTTP); given ``cert_dir`` (a CA ``ca.crt``, maybe ``client.cert``/``client.key``)
every command verifies TLS instead: ``--tls-verify=true --cert-dir DIR``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from wharf_testing.hosts import Host
from wharf_testing.processes import base_env


class SkopeoError(AssertionError):
    """A skopeo command that had to succeed failed; the message has its output."""


class Skopeo:
    """skopeo with a private auth file; :meth:`login` once, then copy/inspect/delete."""

    def __init__(self, host: Host, workdir: str, cert_dir: str | None = None) -> None:
        self.host, self.workdir, self.cert_dir = host, workdir, cert_dir
        os.makedirs(os.path.join(workdir, "run"), mode=0o700, exist_ok=True)
        self.authfile = os.path.join(workdir, "auth.json")
        self.policy = os.path.join(workdir, "policy.json")
        with open(self.policy, "w", encoding="utf-8") as fh:
            json.dump({"default": [{"type": "insecureAcceptAnything"}]}, fh)
        with open(self.authfile, "w", encoding="utf-8") as fh:
            json.dump({"auths": {}}, fh)
        self.env = base_env() | {
            "HOME": workdir,
            "XDG_RUNTIME_DIR": os.path.join(workdir, "run"),
            "XDG_CONFIG_HOME": os.path.join(workdir, "config"),
            "REGISTRY_AUTH_FILE": self.authfile,
        }
        self.binary = shutil.which("skopeo") or "skopeo"

    def run(
        self, *args: str, stdin: str | None = None, check: bool = False, timeout: float = 180
    ) -> subprocess.CompletedProcess:
        """``skopeo --policy P ARGS...`` on the client host; raise on failure when ``check``."""
        argv = [self.binary, "--policy", self.policy, *args]
        result = self.host.run(
            argv, input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout
        )
        if check and result.returncode != 0:
            raise SkopeoError(
                f"skopeo {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def _tls(self, prefix: str = "--") -> list[str]:
        if self.cert_dir is None:
            return [f"{prefix}tls-verify=false"]
        return [f"{prefix}tls-verify=true", f"{prefix}cert-dir", self.cert_dir]

    def login(self, registry: str, username: str, password: str, *, check: bool = True):
        return self.run(
            "login",
            *self._tls(),
            "--authfile",
            self.authfile,
            "--username",
            username,
            "--password-stdin",
            registry,
            stdin=password + "\n",
            check=check,
        )

    def logout(self, registry: str):
        return self.run("logout", "--authfile", self.authfile, registry)

    def copy(self, source: str, destination: str, *, check: bool = False, all_images: bool = False):
        """``skopeo copy`` (either side may be ``docker://``; credentials from the auth file);
        ``all_images``: ``--all``, every manifest of an image index rather than one platform's."""
        return self.run(
            "copy",
            *(["--all"] if all_images else []),
            *self._tls("--src-"),
            *self._tls("--dest-"),
            "--src-authfile",
            self.authfile,
            "--dest-authfile",
            self.authfile,
            source,
            destination,
            check=check,
        )

    def inspect(self, reference: str, *, check: bool = False, creds: str | None = None):
        """``skopeo inspect docker://REF``; on success ``json.loads(result.stdout)`` works.
        ``creds`` (``USER:PASSWORD``) is used instead of the auth file."""
        return self.run(
            "inspect",
            *self._tls(),
            *(["--creds", creds] if creds else ["--authfile", self.authfile]),
            f"docker://{reference}",
            check=check,
        )

    def list_tags(self, repository: str, *, check: bool = False):
        return self.run(
            "list-tags",
            *self._tls(),
            "--authfile",
            self.authfile,
            f"docker://{repository}",
            check=check,
        )

    def delete(self, reference: str, *, check: bool = False):
        return self.run(
            "delete",
            *self._tls(),
            "--authfile",
            self.authfile,
            f"docker://{reference}",
            check=check,
        )
