"""``wharf-registry serve --config``: a real process started from distribution's config.yml."""

from __future__ import annotations

import hashlib
import subprocess
import textwrap

import requests
from serve_process import cli, registry_env, wait_healthy
from wharf_testing import free_port

# distribution's sample configuration (cmd/registry/config-example.yml), trimmed to what
# Wharf supports: no blob descriptor cache, headers or storage health check.
TRIMMED_SAMPLE = """\
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""

# The untrimmed sample: what Wharf lacks is reported, the rest is served.
FULL_SAMPLE = """\
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""


def write_config(tmp_path, template: str) -> tuple[str, int, object]:
    port, root = free_port(), tmp_path / "from-config"
    path = tmp_path / "config.yml"
    path.write_text(template.format(root=root, port=port))
    return str(path), port, root


def bare_env(tmp_path) -> dict[str, str]:
    """The environment without any REGISTRY_* variable: the file says everything."""
    return {k: v for k, v in registry_env(tmp_path).items() if not k.startswith("REGISTRY_")}


def run_serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli("serve", *args), env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_serve_from_distribution_config_answers_v2_and_stores_in_its_root(tmp_path, serve):
    config, port, root = write_config(tmp_path, TRIMMED_SAMPLE)
    proc, log = serve("--config", config, "--strict", "--workers", "2", env=bare_env(tmp_path))
    base = f"http://127.0.0.1:{port}"

    response = wait_healthy(proc, f"{base}/v2/", log)

    assert response.status_code == 200
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    blob = b"configured by config.yml"
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    pushed = requests.post(
        f"{base}/v2/team/app/blobs/uploads/?digest={digest}", data=blob, timeout=10
    )
    assert pushed.status_code == 201, pushed.text
    stored = root / "docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data"
    assert stored.read_bytes() == blob  # the workers use the file's rootdirectory
    assert "warning" not in log.read_text()


def test_the_full_sample_starts_with_a_warning_per_unsupported_key(tmp_path, serve):
    config, port, _ = write_config(tmp_path, FULL_SAMPLE)
    proc, log = serve("--config", config, "--workers", "1", env=bare_env(tmp_path))

    assert wait_healthy(proc, f"http://127.0.0.1:{port}/v2/", log).status_code == 200
    text = log.read_text()
    for key in ("log.fields.service", "storage.cache.blobdescriptor", "http.headers", "health"):
        assert f"wharf-registry: warning: {key}" in text


def test_strict_refuses_the_full_sample(tmp_path):
    config, _, _ = write_config(tmp_path, FULL_SAMPLE)
    result = run_serve("--config", config, "--strict", env=bare_env(tmp_path))
    assert result.returncode == 2
    assert "wharf-registry: error: storage.cache.blobdescriptor in config.yml" in result.stderr
    assert "--strict: 6 unknown or unsupported setting(s)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelt_variable_is_a_warning_naming_the_closest_and_an_error_with_strict(
    tmp_path, serve
):
    port = free_port()
    env = registry_env(
        tmp_path, REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}", REGISTRY_STORAGE_DELETE_ENABLD="false"
    )
    warning = (
        "wharf-registry: warning: REGISTRY_STORAGE_DELETE_ENABLD: unknown setting, ignored; "
        "did you mean REGISTRY_STORAGE_DELETE_ENABLED?"
    )
    proc, log = serve("--workers", "1", env=env)
    assert wait_healthy(proc, f"http://127.0.0.1:{port}/v2/", log).status_code == 200
    assert warning in log.read_text()

    result = run_serve("--strict", env=env)
    assert result.returncode == 2
    assert warning.replace("warning", "error") in result.stderr


def test_broken_s3_settings_exit_2_with_one_message(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(
        textwrap.dedent("""\
        storage:
          s3:
            region: eu-west-3
            regionendpoint: http://127.0.0.1:1
        """)
    )
    result = run_serve("--config", str(config), "--workers", "3", env=bare_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        "wharf-registry: invalid registry configuration: "
        "REGISTRY_STORAGE_S3_BUCKET: bucket is required for the s3 driver\n"
    )
    assert result.stdout == ""


def test_a_filesystem_root_that_cannot_be_created_exits_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = registry_env(tmp_path, REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=str(blocker / "root"))
    result = run_serve(env=env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert (
        len(lines) == 1 and "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: rootdirectory" in lines[0]
    )


def test_an_unreadable_config_file_exits_2_naming_it(tmp_path):
    result = run_serve("--config", str(tmp_path / "absent.yml"), env=bare_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"wharf-registry: {tmp_path / 'absent.yml'}: cannot read")
