"""``wharf-registry serve``: refuses bad configuration by name, serves under gunicorn otherwise."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import time

import pytest
import requests
from serve_process import START_TIMEOUT, cli, registry_env, wait_healthy
from wharf_registry.cli import build_parser, gunicorn_argv
from wharf_registry.settings import Settings
from wharf_testing import free_port
from wharf_testing.tls import make_tls


def test_bad_configuration_exits_2_naming_every_variable(tmp_path):
    env = registry_env(tmp_path, REGISTRY_STORAGE="floppy", REGISTRY_LOG_LEVEL="LOUD")
    result = subprocess.run(
        cli("serve", "--bind", f"127.0.0.1:{free_port()}"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "REGISTRY_STORAGE" in result.stderr
    assert "REGISTRY_LOG_LEVEL" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_htpasswd_without_path_is_refused(tmp_path):
    env = registry_env(tmp_path, REGISTRY_AUTH="htpasswd")
    result = subprocess.run(
        cli("serve"), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "REGISTRY_AUTH_HTPASSWD_PATH" in result.stderr


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"REGISTRY_AUTH_TOKEN_KEYS": "an-old-shared-secret"}, "REGISTRY_AUTH_TOKEN_KEYS"),
        ({"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": "/nonexistent/certs.pem"}, "_ROOTCERTBUNDLE"),
        ({"REGISTRY_AUTH_TOKEN_JWKS": "/nonexistent/jwks.json"}, "REGISTRY_AUTH_TOKEN_JWKS"),
    ],
)
def test_unusable_token_keys_exit_2_naming_the_setting(tmp_path, variables, named):
    env = registry_env(
        tmp_path,
        REGISTRY_AUTH="token",
        REGISTRY_AUTH_TOKEN_VERIFY="local",
        REGISTRY_AUTH_TOKEN_REALM="https://tokens.example/token",
        REGISTRY_AUTH_TOKEN_SERVICE="reg1",
        **variables,
    )
    result = subprocess.run(
        cli("serve"), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr
    assert "an-old-shared-secret" not in result.stderr


def test_unusable_tls_files_exit_2_naming_the_setting(tmp_path):
    tls = make_tls(tmp_path / "tls")
    env = registry_env(
        tmp_path,
        REGISTRY_HTTP_TLS_CERTIFICATE=tls.server.certificate,
        REGISTRY_HTTP_TLS_KEY=str(tmp_path / "no-such.key"),
    )
    result = subprocess.run(
        cli("serve"), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "REGISTRY_HTTP_TLS_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_over_https_requiring_client_certificates(tmp_path, serve):
    tls = make_tls(tmp_path / "tls", sans=("127.0.0.1",)).requiring_client_cert()
    port = free_port()
    env = registry_env(
        tmp_path, REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}", **tls.env("REGISTRY_HTTP_TLS")
    )
    proc, log = serve("--workers", "1", "--threads", "2", env=env)
    url = f"https://127.0.0.1:{port}/v2/"
    deadline = time.monotonic() + START_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=2, **tls.requests_kwargs())
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        raise AssertionError(f"no HTTPS answer from {url}:\n{log.read_text()}")
    assert response.status_code == 200
    # Without a certificate: refused (TLS 1.3 may report it as an alert or as a reset).
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5, **tls.requests_kwargs(client_cert=False))
    with pytest.raises(requests.exceptions.SSLError):  # the CA not trusted: refused
        requests.get(url, timeout=5, cert=tls.requests_kwargs()["cert"])
    with pytest.raises(requests.ConnectionError):  # plain HTTP on the TLS port
        requests.get(f"http://127.0.0.1:{port}/v2/", timeout=5)


def test_serve_answers_healthz_and_logs_json(tmp_path, serve):
    port = free_port()
    env = registry_env(tmp_path, REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}", REGISTRY_LOG_FORMAT="json")
    proc, log = serve("--workers", "1", "--threads", "2", env=env)

    response = wait_healthy(proc, f"http://127.0.0.1:{port}/healthz", log)
    assert response.status_code == 200

    os.kill(proc.pid, signal.SIGTERM)  # the pid is gunicorn's master: serve exec'd it
    assert proc.wait(timeout=30) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [e for e in lines if e["logger"] == "gunicorn.access"]
    assert any("GET /healthz" in e["message"] for e in access)
    assert any(e["logger"] == "gunicorn.error" for e in lines)


def test_served_readyz_follows_the_storage_and_healthz_does_not(tmp_path, serve):
    port = free_port()
    env = registry_env(tmp_path, REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}", REGISTRY_READYZ_CACHE="0")
    proc, log = serve("--workers", "1", "--threads", "2", env=env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{base}/healthz", log)
    ready = requests.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["storage"] == {"status": "ok"}
    shutil.rmtree(tmp_path / "storage")  # the volume is gone under the running registry
    unready = requests.get(f"{base}/readyz", timeout=5)
    assert unready.status_code == 503, unready.text
    assert unready.json()["storage"]["step"] == "stat"
    assert unready.headers["Cache-Control"] == "no-store"
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    (tmp_path / "storage").mkdir()  # back: ready again at the next check, no restart
    assert requests.get(f"{base}/readyz", timeout=5).status_code == 200


def test_bind_option_overrides_http_addr(tmp_path, serve):
    port = free_port()
    env = registry_env(tmp_path, REGISTRY_HTTP_ADDR="127.0.0.1:1", REGISTRY_LOG_FORMAT="text")
    proc, log = serve("--bind", f"127.0.0.1:{port}", "--workers", "1", env=env)
    assert wait_healthy(proc, f"http://127.0.0.1:{port}/healthz", log).status_code == 200


def test_gunicorn_command_line_uses_gthread_config():
    args = build_parser().parse_args(["serve", "--workers", "3", "--threads", "4"])
    argv = gunicorn_argv(args, Settings(http_addr="10.0.0.1:5000"))
    assert argv[1:3] == ["-m", "gunicorn"]
    assert argv[argv.index("--config") + 1] == "python:wharf_registry.gunicorn_conf"
    assert argv[argv.index("--bind") + 1] == "10.0.0.1:5000"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--threads") + 1] == "4"
    assert argv[-1] == "wharf_registry.wsgi:app"


def test_gunicorn_config_selects_threaded_workers():
    from gunicorn.workers.gthread import ThreadWorker
    from wharf_protocol.serving import HeadFirstWorker
    from wharf_registry import gunicorn_conf

    assert issubclass(gunicorn_conf.worker_class, HeadFirstWorker)
    assert issubclass(gunicorn_conf.worker_class, ThreadWorker)
    assert gunicorn_conf.timeout >= 300
    assert gunicorn_conf.accesslog == "-"


@pytest.mark.parametrize("value", ["0", "many"])
def test_worker_count_must_be_a_positive_integer(value, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--workers", value])
    assert exc.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_options_default_to_none_for_bind():
    assert build_parser().parse_args(["serve"]) == argparse.Namespace(
        command="serve", config=None, strict=False, bind=None, workers=2, threads=16, timeout=600
    )


def test_version_needs_no_configuration(tmp_path):
    from importlib.metadata import version

    env = registry_env(tmp_path, REGISTRY_AUTH="bogus")  # a bad setting does not matter here
    done = subprocess.run(
        cli("--version"), env=env, capture_output=True, text=True, timeout=START_TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"wharf-registry {version('wharf-registry')} (wharf-protocol {version('wharf-protocol')})"
    )
