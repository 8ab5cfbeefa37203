"""DockerDaemon: a real dockerd (Debian's docker.io) with its state in a temporary directory."""

import json
import os
import signal
import subprocess

import pytest
from wharf_testing import dockerd as dockerd_module
from wharf_testing.dockerd import DockerDaemon, DockerError, find_cli
from wharf_testing.processes import wait_until

ETC_KEY = "/etc/docker/key.json"


def _docker(daemon: DockerDaemon, *args: str) -> str:
    result = subprocess.run(
        [daemon.cli, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.defpath, "HOME": daemon.workdir, "DOCKER_HOST": daemon.host},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _alive_with(text: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line mentions ``text``."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().decode(errors="replace")
            with open(f"/proc/{entry}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def _gone(workdir: str) -> bool:
    """No process, file or mount of the daemon that lived in ``workdir`` is left."""
    return (
        not _alive_with(workdir)
        and not os.path.exists(workdir)
        and not dockerd_module.mounts_below(workdir)
    )


def test_engine_keeps_its_state_in_its_directory_and_stop_removes_it():
    key_existed = os.path.exists(ETC_KEY)
    daemon = DockerDaemon(insecure_registries=["10.231.7.0/24"])
    workdir = daemon.workdir
    try:
        daemon.start()
        assert dockerd_module.ping(daemon.socket)
        assert _docker(daemon, "info", "--format", "{{.Driver}}") == "vfs"
        info = json.loads(_docker(daemon, "info", "--format", "{{json .}}"))
        assert info["DockerRootDir"] == daemon.data_root
        assert "10.231.7.0/24" in info["RegistryConfig"]["InsecureRegistryCIDRs"]
        assert os.path.exists(os.path.join(workdir, "key.json"))
        assert len(_alive_with(workdir)) >= 2  # dockerd and its own containerd
    finally:
        daemon.stop()
    assert _gone(workdir)
    assert daemon.pid is None and "API listen on" in daemon.log()
    assert os.path.exists(ETC_KEY) == key_existed


def test_a_second_engine_with_a_registry_mirror_runs_beside_the_first():
    first = DockerDaemon(insecure_registries=["10.231.7.0/24"])
    second = DockerDaemon(
        insecure_registries=["10.231.7.0/24"], registry_mirrors=["http://10.231.7.11:5310"]
    )
    try:
        first.start()
        second.start()
        mirrors = json.loads(
            _docker(second, "info", "--format", "{{json .RegistryConfig.Mirrors}}")
        )
        assert mirrors == ["http://10.231.7.11:5310/"]
        assert json.loads(
            _docker(first, "info", "--format", "{{json .RegistryConfig.Mirrors}}")
        ) in (
            [],
            None,
        )
        second.stop()
        assert dockerd_module.ping(first.socket)  # its containerd and state were its own
    finally:
        second.stop()
        first.stop()
    assert _gone(first.workdir) and _gone(second.workdir)


def test_a_killed_engine_is_cleaned_up_too():
    daemon = DockerDaemon().start()
    workdir = daemon.workdir
    try:
        os.kill(daemon.pid, signal.SIGKILL)
        assert wait_until(lambda: not dockerd_module.ping(daemon.socket), timeout=10)
        assert dockerd_module.mounts_below(workdir)  # its data root stays bind-mounted
    finally:
        daemon.stop()
    assert wait_until(lambda: _gone(workdir), timeout=10)


def test_missing_dockerd_is_an_error_naming_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv(dockerd_module.DOCKERD_ENV, str(tmp_path / "dockerd"))
    with pytest.raises(DockerError, match="docker.io"):
        DockerDaemon()


def test_not_root_is_an_error_not_a_hang(monkeypatch):
    daemon = DockerDaemon()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    try:
        with pytest.raises(DockerError, match="root"):
            daemon.start()
    finally:
        daemon.stop()
    assert not os.path.exists(daemon.workdir)


def test_the_client_installed_with_the_daemon_is_preferred(monkeypatch, tmp_path):
    for name in ("sbin/dockerd", "bin/docker", "elsewhere/docker"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    monkeypatch.delenv(dockerd_module.CLI_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert find_cli(str(tmp_path / "sbin/dockerd")) == str(tmp_path / "bin/docker")
    monkeypatch.setenv(dockerd_module.CLI_ENV, str(tmp_path / "elsewhere/docker"))
    assert find_cli(str(tmp_path / "sbin/dockerd")) == str(tmp_path / "elsewhere/docker")
