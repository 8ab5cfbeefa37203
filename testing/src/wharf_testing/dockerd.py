"""A throwaway Docker engine: ``dockerd`` (Debian's ``docker.io``) with all its state in a
temporary directory, for tests that drive the real ``docker`` client.

:class:`DockerDaemon` starts ``dockerd`` (which starts a containerd of its own) with
``--data-root``, ``--exec-root``, the API socket (``-H unix://...``), ``--pidfile``, its
configuration file and its trust key all inside one temporary directory, vfs storage (no
kernel filesystem needed) and no networking of its own (``--bridge=none``, no iptables, no
masquerading, no userland proxy): it pulls, pushes, loads and tags images, it runs none.
``registry_mirrors`` are its ``--registry-mirror`` URLs (asked first for Docker Hub's
images, as an operator's ``daemon.json`` ``registry-mirrors``). Several engines can run at
once: each has its own directory, socket and containerd.
``prefix`` runs it on another host (``ip netns exec HOST``, see :mod:`.hosts`); the API
socket is a file, so clients reach it from anywhere on the machine. ``stop()`` ends it by
its pid (SIGTERM, then SIGKILL of its process group), undoes the mount it leaves behind
when killed and deletes the directory: vfs keeps a full copy of every layer.

dockerd runs as root only. Not found, not root, or not answering in time are errors
(:class:`DockerError`) naming the cause, never a reason to skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Sequence

from . import processes

DOCKERD_ENV = "WHARF_TEST_DOCKERD"
CLI_ENV = "WHARF_TEST_DOCKER_CLI"
_INSTALL_HINT = "apt-get install --no-install-recommends docker.io"
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
# dockerd creates this plugin-socket directory whatever its --exec-root says.
PLUGINS_DIR = "/run/docker/plugins"


class DockerError(RuntimeError):
    """dockerd is missing, cannot run here, or did not start; the message says which."""


def find_dockerd() -> str:
    """``$WHARF_TEST_DOCKERD``, else ``dockerd`` on PATH or in the sbin directories."""
    forced = os.environ.get(DOCKERD_ENV)
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN])
    found = forced or shutil.which("dockerd", path=search)
    if not found or not os.access(found, os.X_OK):
        raise DockerError(
            f"dockerd not found ({forced or 'PATH and ' + ', '.join(_SBIN)}): {_INSTALL_HINT}"
        )
    return found


def find_cli(dockerd: str) -> str:
    """The ``docker`` client: ``$WHARF_TEST_DOCKER_CLI``, else the one installed with
    ``dockerd`` (``/usr/bin/docker`` for ``/usr/sbin/dockerd``), else ``docker`` on PATH."""
    forced = os.environ.get(CLI_ENV)
    here = os.path.dirname(dockerd)
    candidates = (
        [forced]
        if forced
        else [
            os.path.join(here, "docker"),
            os.path.join(here.replace("sbin", "bin"), "docker"),
            shutil.which("docker") or "",
        ]
    )
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise DockerError(f"the docker client was not found (looked at {candidates}): {_INSTALL_HINT}")


class DockerDaemon:
    """``dockerd`` in a temporary directory: ``start()``, ``stop()``, ``host`` (the
    ``DOCKER_HOST`` value), ``cli`` (the client binary), ``pid``, ``log()``.

    ``insecure_registries``: ``HOST:PORT`` or CIDR values for ``--insecure-registry`` (plain
    HTTP allowed; loopback addresses always are). ``registry_mirrors``: URLs
    (``http://HOST:PORT``) for ``--registry-mirror``.
    """

    name = "dockerd"

    def __init__(
        self,
        *,
        prefix: Sequence[str] = (),
        insecure_registries: Sequence[str] = (),
        registry_mirrors: Sequence[str] = (),
    ):
        self.prefix = tuple(prefix)
        self.insecure_registries = tuple(insecure_registries)
        self.registry_mirrors = tuple(registry_mirrors)
        self.binary = find_dockerd()
        self.cli = find_cli(self.binary)
        self.workdir = tempfile.mkdtemp(prefix="wharf-dockerd-")
        self.socket = os.path.join(self.workdir, "docker.sock")
        self.data_root = os.path.join(self.workdir, "data")
        self._proc: subprocess.Popen[bytes] | None = None
        self._made_plugins_dir = False
        self._final_log: str | None = None

    def __repr__(self) -> str:
        return f"<DockerDaemon {self.host} pid={self.pid}>"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def logfile(self) -> str:
        return os.path.join(self.workdir, "dockerd.log")

    def argv(self) -> list[str]:
        w = self.workdir
        argv = [
            *self.prefix,
            self.binary,
            "--config-file",
            os.path.join(w, "daemon.json"),
            "--data-root",
            self.data_root,
            "--exec-root",
            os.path.join(w, "exec"),
            "-H",
            self.host,
            "--pidfile",
            os.path.join(w, "dockerd.pid"),
            "--storage-driver=vfs",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
            "--userland-proxy=false",
        ]
        for registry in self.insecure_registries:
            argv += ["--insecure-registry", registry]
        for mirror in self.registry_mirrors:
            argv += ["--registry-mirror", mirror]
        return argv

    def start(self, timeout: float = 60.0) -> DockerDaemon:
        """Start dockerd and wait (at most ``timeout`` s) until its API answers ``/_ping``;
        raise :class:`DockerError` with its log if it exits or the time runs out."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        if os.geteuid() != 0:
            raise DockerError(
                "dockerd must run as root (the tests need a root Debian machine with docker.io)"
            )
        os.makedirs(self.workdir, exist_ok=True)
        self._final_log = None
        with open(os.path.join(self.workdir, "daemon.json"), "w", encoding="utf-8") as fh:
            # Keep the engine's identity key here, not in /etc/docker/key.json.
            json.dump({"deprecated-key-path": os.path.join(self.workdir, "key.json")}, fh)
        self._made_plugins_dir = not os.path.exists(PLUGINS_DIR)
        env = processes.base_env() | {"HOME": self.workdir}
        env["PATH"] = os.pathsep.join([env["PATH"], *_SBIN])  # containerd, runc
        processes.register(self)
        with open(self.logfile, "ab") as log:
            self._proc = processes.spawn(self.argv(), env=env, log=log, cwd=self.workdir)
        try:
            if not processes.wait_until(self._ready, timeout, interval=0.1):
                raise DockerError(
                    f"dockerd did not answer on {self.socket} within {timeout}s;"
                    f" log:\n{self.log_tail()}"
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM dockerd (it stops its containerd), SIGKILL the group after 20 s, undo
        its data-root mount, delete every file it made. The log stays readable."""
        if self._proc is not None:
            processes.terminate(self._proc, signal.SIGTERM, grace=20.0)
            self._proc = None
        processes.unregister(self)
        if self._final_log is None and os.path.isdir(self.workdir):
            self._final_log = self.log()
        # Killed, dockerd leaves its data root bind-mounted on itself (a mount of this
        # mount namespace: it shares ours).
        for mountpoint in sorted(mounts_below(self.workdir), reverse=True):
            subprocess.run(
                ["umount", "-l", mountpoint],
                check=False,  # noqa: S607
                capture_output=True,
                timeout=30,
            )
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._made_plugins_dir:
            for directory in (PLUGINS_DIR, os.path.dirname(PLUGINS_DIR)):
                with contextlib.suppress(OSError):  # not empty: someone else's
                    os.rmdir(directory)
            self._made_plugins_dir = False

    def log(self) -> str:
        """What dockerd (and its containerd) wrote so far."""
        if self._final_log is not None:
            return self._final_log
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def _ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise DockerError(
                f"dockerd exited with {self._proc.returncode} while starting;"
                f" log:\n{self.log_tail()}"
            )
        return ping(self.socket)


def mounts_below(directory: str) -> list[str]:
    """Mount points at or below ``directory`` in this mount namespace (Linux mountinfo)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            points = [line.split()[4] for line in fh]
    except OSError:
        return []
    points = [p.encode().decode("unicode_escape") for p in points]  # octal escapes (\040)
    return [p for p in points if p == directory or p.startswith(directory.rstrip("/") + "/")]


def ping(path: str, timeout: float = 2.0) -> bool:
    """Whether the Docker API on the unix socket ``path`` answers ``GET /_ping`` with 200."""
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError:
        return False
    return answer.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
