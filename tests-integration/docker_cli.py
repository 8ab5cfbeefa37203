"""The docker client against the session's engine (wharf_testing.dockerd), one per user.

Each :class:`DockerCli` has a private ``DOCKER_CONFIG`` (its ``config.json`` holds what
``docker login`` stored: an identity token when the registry gave one) and ``HOME`` in a work
directory. Most commands only talk to the engine over its socket, and the engine (on the
client host) talks to the registries; ``docker manifest`` talks to registries itself, so it
runs on the client host too. Images enter the engine as ``docker load`` of an archive that
skopeo makes from an OCI layout (:meth:`load`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess

from oci_client import Image
from skopeo import Skopeo
from wharf_testing.dockerd import DockerDaemon
from wharf_testing.hosts import Host
from wharf_testing.processes import base_env

_DIGEST_RE = re.compile(r"digest: (sha256:[0-9a-f]{64})")


class DockerCliError(AssertionError):
    """A docker command that had to succeed failed; the message has its output."""


class DockerCli:
    """``docker`` as one user: :meth:`login`, :meth:`load`, :meth:`push`, :meth:`pull`..."""

    def __init__(self, daemon: DockerDaemon, host: Host, workdir: str) -> None:
        self.daemon, self.host, self.workdir = daemon, host, workdir
        self.config_dir = os.path.join(workdir, "docker-config")
        os.makedirs(self.config_dir, mode=0o700, exist_ok=True)
        self.env = base_env() | {
            "HOME": workdir,
            "DOCKER_CONFIG": self.config_dir,
            "DOCKER_HOST": daemon.host,
        }

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = False,
        timeout: float = 180,
        on_host: bool = False,
    ) -> subprocess.CompletedProcess:
        """``docker ARGS...`` (on the client host when ``on_host``); raise when ``check``."""
        argv = [self.daemon.cli, *args]
        if on_host:
            argv = self.host.command(argv)
        result = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,  # noqa: S603
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise DockerCliError(
                f"docker {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    # -- credentials -------------------------------------------------------------------

    def login(self, server: str, username: str, password: str, *, check: bool = True):
        return self.run(
            "login",
            "--username",
            username,
            "--password-stdin",
            server,
            stdin=password + "\n",
            check=check,
        )

    def login_with_identity_token(self, server: str, username: str, password: str) -> DockerCli:
        """``docker login`` and check what it kept: an identity token (the refresh token the
        Index gave the engine), the username, and no password. Returns self."""
        self.login(server, username, password)
        stored = self.stored_auth(server)
        assert stored.get("identitytoken"), f"no identity token stored for {server}: {stored}"
        assert self.stored_username_and_secret(server) == (username, "")
        return self

    def logout(self, server: str):
        return self.run("logout", server, check=True)

    def stored_auth(self, server: str) -> dict:
        """What ``config.json`` holds for ``server`` ({} when nothing)."""
        path = os.path.join(self.config_dir, "config.json")
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as fh:
            return json.load(fh).get("auths", {}).get(server, {})

    def stored_username_and_secret(self, server: str) -> tuple[str, str]:
        """``auth`` of ``server`` decoded: (username, password as stored)."""
        raw = base64.b64decode(self.stored_auth(server).get("auth", "")).decode()
        username, _, secret = raw.partition(":")
        return username, secret

    # -- images ------------------------------------------------------------------------

    def load(self, skopeo: Skopeo, image: Image, reference: str) -> str:
        """Make a docker archive of ``image`` tagged ``reference`` (skopeo, from an OCI
        layout), ``docker load`` it; return the engine's image id."""
        directory = os.path.join(self.workdir, "layouts", image.config_digest[7:19])
        layout = image.write_layout(directory, "load")
        archive = os.path.join(self.workdir, f"{image.config_digest[7:19]}.tar")
        if os.path.exists(archive):
            os.remove(archive)
        skopeo.copy(layout, f"docker-archive:{archive}:{reference}", check=True)
        self.run("load", "--input", archive, check=True)
        return self.image_id(reference)

    def push(self, reference: str) -> str:
        """``docker push``; the manifest digest it reports."""
        result = self.run("push", reference, check=True)
        found = _DIGEST_RE.findall(result.stdout)
        assert found, f"no digest in the output of docker push:\n{result.stdout}"
        return found[-1]

    def pull(self, reference: str, *options: str, check: bool = False):
        return self.run("pull", *options, reference, check=check)

    def inspect(self, reference: str) -> dict | None:
        """``docker image inspect`` of ``reference`` (None when the engine has no such image)."""
        result = self.run("image", "inspect", reference)
        return json.loads(result.stdout)[0] if result.returncode == 0 else None

    def image_id(self, reference: str) -> str:
        found = self.inspect(reference)
        assert found is not None, f"the engine has no image {reference}"
        return found["Id"]

    def remove(self, *references: str) -> None:
        """Forget images (every tag of them) so that a pull downloads again."""
        ids = {found["Id"] for ref in references if (found := self.inspect(ref))}
        if ids:
            self.run("image", "rm", "--force", *sorted(ids), check=True)

    def tag(self, source: str, target: str) -> None:
        self.run("tag", source, target, check=True)

    def manifest_push(self, reference: str, *platform_images: str) -> str:
        """``docker manifest create`` + ``push`` (plain HTTP): a manifest list of images
        already in the registry; the digest of the pushed list."""
        self.run(
            "manifest",
            "create",
            "--insecure",
            reference,
            *platform_images,
            check=True,
            on_host=True,
        )
        result = self.run(
            "manifest", "push", "--purge", "--insecure", reference, check=True, on_host=True
        )
        digests = re.findall(r"sha256:[0-9a-f]{64}", result.stdout)
        assert digests, f"no digest in the output of docker manifest push:\n{result.stdout}"
        return digests[-1]

    def search(self, term: str, *, check: bool = True) -> list[str]:
        """``docker search TERM`` (``INDEX_HOST:PORT/words`` asks that Index): the names."""
        result = self.run("search", "--no-trunc", "--format", "{{.Name}}", term, check=check)
        return result.stdout.split()
