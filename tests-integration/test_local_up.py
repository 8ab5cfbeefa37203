"""``./deploy/local/up``, run as a user would: the stack comes up, skopeo logs in and
pushes, SIGTERM stops everything (no process left), and a second run finds the data.

The script runs with ``--python`` set to this interpreter (whose environment has the
packages: no virtualenv, no network), on free 127.0.0.1 ports, with its data directory in
``tmp_path``; it starts its own PostgreSQL from the machine's server binaries (under root
as an unprivileged account). Every wait is bounded.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from wharf_testing import free_port

ROOT = Path(__file__).resolve().parents[1]
UP = ROOT / "deploy" / "local" / "up"
PASSWORD = "local-admin-password-1"
START_TIMEOUT = 180
STOP_TIMEOUT = 120


def _ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) for every process now (Linux /proc)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), fields[19])
    return table


def _descendants(root: int) -> dict[int, str]:
    """Every process below ``root`` now: pid -> start time (to tell a reused pid apart)."""
    table = _process_table()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def _still_running(processes: dict[int, str]) -> list[int]:
    table = _process_table()
    return [pid for pid, started in processes.items() if pid in table and table[pid][1] == started]


def _oci_layout(root: Path) -> str:
    """Write a one-layer OCI image layout (tag ``latest``); return its manifest digest."""

    def blob(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "blobs" / "sha256" / digest).write_bytes(data)
        return f"sha256:{digest}"

    text = b"hello from ./deploy/local/up\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()],
            },
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": blob(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": blob(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    digest = blob(manifest)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": digest,
                        "size": len(manifest),
                        "annotations": {"org.opencontainers.image.ref.name": "latest"},
                    }
                ],
            }
        )
    )
    return digest


class Up:
    """One run of ``./deploy/local/up`` in the background, output in a file."""

    def __init__(
        self,
        tmp_path: Path,
        ports: list[int],
        run: int,
        env: dict[str, str],
        extra: tuple[str, ...] = (),
    ) -> None:
        self.index_port, self.registry_port, self.postgres_port = ports
        self.output = tmp_path / f"up-{run}.out"
        argv = [
            str(UP),
            "--data-dir",
            str(tmp_path / "data"),
            "--python",
            sys.executable,
            "--index-port",
            str(self.index_port),
            "--registry-port",
            str(self.registry_port),
            "--postgres-port",
            str(self.postgres_port),
            *extra,
        ]
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_up(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while "Wharf is up." not in self.text():
            assert self.proc.poll() is None, f"up exited {self.proc.returncode}:\n{self.text()}"
            assert time.monotonic() < deadline, f"up not ready in {START_TIMEOUT}s:\n{self.text()}"
            time.sleep(0.5)
        time.sleep(0.5)  # the banner is printed in one write; let it land whole
        return self.text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise

    def kill(self) -> None:
        """Teardown after a failure: the whole tree, without ceremony."""
        if self.proc.poll() is None:
            for pid in _descendants(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.wait()


class Skopeo:
    """skopeo with its own HOME, auth file and accept-anything policy under ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(exist_ok=True)
        (workdir / "run").mkdir(mode=0o700, exist_ok=True)
        self.policy = workdir / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.authfile = workdir / "auth.json"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "XDG_RUNTIME_DIR": str(workdir / "run"),
        }

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["skopeo", "--policy", str(self.policy), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )

    def login(
        self, registry: str, password: str, tls: tuple[str, ...] = ("--tls-verify=false",)
    ) -> subprocess.CompletedProcess:
        self.authfile.unlink(missing_ok=True)
        return self.run(
            "login",
            *tls,
            "--authfile",
            str(self.authfile),
            "-u",
            "admin",
            "--password-stdin",
            registry,
            stdin=password + "\n",
        )


def _stack_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INDEX_", "REGISTRY_", "WHARF_"))
    }
    env["INDEX_PASSWORD_SCRYPT_N"] = "1024"  # fast logins; the default is for production
    return env


@pytest.fixture
def runs():
    started: list[Up] = []
    yield started
    for up in started:
        up.kill()


def test_up_serves_skopeo_stops_cleanly_and_keeps_its_data(tmp_path, runs):
    ports = _ports(3)
    registry = f"127.0.0.1:{ports[1]}"
    digest = _oci_layout(tmp_path / "image")
    skopeo = Skopeo(tmp_path / "skopeo")

    first = Up(tmp_path, ports, 1, _stack_env() | {"WHARF_ADMIN_PASSWORD": PASSWORD})
    runs.append(first)
    banner = first.wait_up()
    assert f"Registry   http://{registry}" in banner
    assert f"docker login {registry}" in banner and "--tls-verify=false" in banner
    assert PASSWORD not in banner  # given by the caller: never echoed
    assert " webhooks=" in banner  # the webhook worker runs beside the Index
    secrets_dir = tmp_path / "data" / "secrets"
    for name in ("index-secret-key", "registry-local.credential", "database-url"):
        assert stat.S_IMODE((secrets_dir / name).stat().st_mode) == 0o600, name
    tree = _descendants(first.proc.pid)
    assert len(tree) >= 5, tree  # postgres + workers, the Index and the registry + workers

    login = skopeo.login(registry, PASSWORD)
    assert login.returncode == 0, login.stderr
    copy = skopeo.run(
        "copy",
        "--dest-tls-verify=false",
        "--dest-authfile",
        str(skopeo.authfile),
        f"oci:{tmp_path / 'image'}:latest",
        f"docker://{registry}/admin/hello:1.0",
    )
    assert copy.returncode == 0, copy.stderr + first.text()
    assert first.stop() == 0, first.text()
    assert "up: stopped" in first.text()
    assert _still_running(tree) == []

    second = Up(tmp_path, ports, 2, _stack_env())
    runs.append(second)
    banner = second.wait_up()
    assert "created on an earlier run" in banner and "creating a PostgreSQL" not in banner
    login = skopeo.login(registry, PASSWORD)
    assert login.returncode == 0, login.stderr
    inspect = skopeo.run(
        "inspect",
        "--tls-verify=false",
        "--authfile",
        str(skopeo.authfile),
        f"docker://{registry}/admin/hello:1.0",
    )
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["Digest"] == digest
    tree = _descendants(second.proc.pid)
    assert second.stop() == 0, second.text()
    assert _still_running(tree) == []


def test_up_tls_serves_https_that_skopeo_verifies(tmp_path, runs):
    """``--tls``: a local CA in DATA/tls, both services on HTTPS, the registry trusting the
    CA for its Index calls (token checks, events); skopeo verifies with --cert-dir."""
    ports = _ports(3)
    registry = f"127.0.0.1:{ports[1]}"
    digest = _oci_layout(tmp_path / "image")
    skopeo = Skopeo(tmp_path / "skopeo")
    up = Up(tmp_path, ports, 1, _stack_env() | {"WHARF_ADMIN_PASSWORD": PASSWORD}, ("--tls",))
    runs.append(up)
    banner = up.wait_up()
    trust = tmp_path / "data" / "tls" / "trust"
    assert f"Registry   https://{registry}" in banner
    assert f"Index      https://127.0.0.1:{ports[0]}" in banner
    assert f"--cert-dir {trust}" in banner
    assert f"/etc/docker/certs.d/{registry}/ca.crt" in banner
    assert sorted(os.listdir(trust)) == ["ca.crt"]  # a --cert-dir must hold no *.key
    assert stat.S_IMODE((tmp_path / "data" / "tls" / "ca.key").stat().st_mode) == 0o600

    verify = ("--tls-verify=true", "--cert-dir", str(trust))
    untrusted = skopeo.login(registry, PASSWORD, ("--tls-verify=true",))
    assert untrusted.returncode != 0 and "certificate" in untrusted.stderr
    login = skopeo.login(registry, PASSWORD, verify)
    assert login.returncode == 0, login.stderr + up.text()
    copy = skopeo.run(
        "copy",
        "--dest-tls-verify=true",
        "--dest-cert-dir",
        str(trust),
        "--dest-authfile",
        str(skopeo.authfile),
        f"oci:{tmp_path / 'image'}:latest",
        f"docker://{registry}/admin/hello:1.0",
    )
    assert copy.returncode == 0, copy.stderr + up.text()
    pulled = tmp_path / "pulled"
    pull = skopeo.run(
        "copy",
        *(a.replace("--", "--src-", 1) for a in verify),
        "--src-authfile",
        str(skopeo.authfile),
        f"docker://{registry}/admin/hello:1.0",
        f"oci:{pulled}:1.0",
    )
    assert pull.returncode == 0, pull.stderr + up.text()
    assert digest in (pulled / "index.json").read_text()
    tree = _descendants(up.proc.pid)
    assert up.stop() == 0, up.text()
    assert _still_running(tree) == []


def _run_up(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(UP), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or _stack_env(),
        stdin=subprocess.DEVNULL,
    )


def test_help_and_bad_options():
    shown = _run_up("--help")
    assert shown.returncode == 0
    for option in ("--data-dir", "--index-port", "--registry-port", "INDEX_DATABASE_URL"):
        assert option in shown.stdout
    bad = _run_up("--index-port", "http")
    assert bad.returncode == 2 and "'http' is not a port number" in bad.stderr
    same = _run_up("--index-port", "5005", "--registry-port", "5005")
    assert same.returncode == 2 and "must differ" in same.stderr


def test_missing_postgresql_says_what_to_install(tmp_path):
    index_port, registry_port = _ports(2)
    env = _stack_env() | {"WHARF_PG_BINDIR": str(tmp_path / "no-postgres-here")}
    result = _run_up(
        "--data-dir",
        str(tmp_path / "data"),
        "--python",
        sys.executable,
        "--index-port",
        str(index_port),
        "--registry-port",
        str(registry_port),
        env=env,
    )
    assert result.returncode == 1
    assert "apt-get install postgresql" in result.stderr
    assert "INDEX_DATABASE_URL" in result.stderr


def test_a_port_in_use_is_named(tmp_path):
    index_port, registry_port = _ports(2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", registry_port))
        taken.listen()
        result = _run_up(
            "--data-dir",
            str(tmp_path / "data"),
            "--python",
            sys.executable,
            "--index-port",
            str(index_port),
            "--registry-port",
            str(registry_port),
        )
    assert result.returncode == 1
    assert f"port {registry_port} on 127.0.0.1 is in use" in result.stderr
    assert "--registry-port" in result.stderr
