"""podman, the real client, for ``login`` and ``search`` on the client host.

Like :mod:`skopeo`, nothing of the machine's user is read or written: ``HOME``, ``XDG_*``
and the auth file point into a work directory, and the image store (``--root``, the
``vfs`` driver; ``--runroot`` in a short directory of /tmp) lives there too, though
``search`` and ``login`` store no image. Registries speak plain HTTP, hence ``--tls-verify=false``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref

from wharf_testing.hosts import Host
from wharf_testing.processes import base_env


class PodmanError(AssertionError):
    """A podman command that had to succeed failed; the message has its output."""


class Podman:
    """podman with a private auth file and store: :meth:`login`, :meth:`search`."""

    def __init__(self, host: Host, workdir: str) -> None:
        self.host, self.workdir = host, workdir
        for sub in ("run", "root", "config"):
            os.makedirs(os.path.join(workdir, sub), mode=0o700, exist_ok=True)
        # podman refuses a runroot path longer than 50 characters: a short one in /tmp,
        # removed with this object.
        self.runroot = tempfile.mkdtemp(prefix="wp-", dir="/tmp")
        weakref.finalize(self, shutil.rmtree, self.runroot, True)
        self.authfile = os.path.join(workdir, "auth.json")
        with open(self.authfile, "w", encoding="utf-8") as fh:
            json.dump({"auths": {}}, fh)
        self.env = base_env() | {
            "HOME": workdir,
            "XDG_RUNTIME_DIR": os.path.join(workdir, "run"),
            "XDG_CONFIG_HOME": os.path.join(workdir, "config"),
            "REGISTRY_AUTH_FILE": self.authfile,
        }
        self.binary = shutil.which("podman") or "podman"

    def run(self, *args: str, stdin: str | None = None, check: bool = False):
        """``podman --root R --runroot R ARGS...`` on the client host."""
        argv = [
            self.binary,
            "--root",
            os.path.join(self.workdir, "root"),
            "--runroot",
            self.runroot,
            "--storage-driver",
            "vfs",
            "--events-backend",
            "none",
            "--cgroup-manager",
            "cgroupfs",
            *args,
        ]
        result = self.host.run(
            argv, input=stdin, capture_output=True, text=True, env=self.env, timeout=120
        )
        if check and result.returncode != 0:
            raise PodmanError(
                f"podman {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def login(self, server: str, username: str, password: str, *, check: bool = True):
        return self.run(
            "login",
            "--tls-verify=false",
            "--authfile",
            self.authfile,
            "--username",
            username,
            "--password-stdin",
            server,
            stdin=password + "\n",
            check=check,
        )

    def search(self, term: str) -> list[str]:
        """``podman search HOST/TERM``: the repository names found (without the host), sorted."""
        result = self.run(
            "search",
            "--tls-verify=false",
            "--authfile",
            self.authfile,
            "--no-trunc",
            "--format",
            "{{.Name}}",
            term,
            check=True,
        )
        host = term.split("/", 1)[0] + "/"
        return sorted(name.removeprefix(host) for name in result.stdout.split())
