"""GunicornService: a real gunicorn serving the tiny Flask app in this directory."""

import os

import pytest
import requests
from proctools import group_members
from wharf_testing.processes import wait_until
from wharf_testing.services import GunicornService, ServiceError

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def tiny(service_factory):
    return service_factory(
        "tinyapp:create_app()", {"TINYAPP_GREETING": "ahoy"}, "tiny", cwd=HERE, workers=2
    )


def test_service_answers_over_http_with_its_env(tiny):
    body = requests.get(tiny.url + "/whoami", timeout=5).json()

    assert body["greeting"] == "ahoy"
    assert body["pid"] != tiny.pid  # served by a worker, not the master


def test_log_captures_output(tiny):
    requests.get(tiny.url + "/whoami", timeout=5)

    def logged():
        return "tinyapp served whoami" in tiny.log()

    assert wait_until(logged, timeout=10)
    assert "Booting worker" in tiny.log()


def test_kill_takes_down_the_whole_group(tiny):
    pid = tiny.pid
    assert wait_until(lambda: len(group_members(pid)) == 3, timeout=20)  # master + 2 workers

    tiny.kill()

    assert group_members(pid) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(tiny.url + "/healthz", timeout=5)


def test_restart_after_kill_serves_on_the_same_port(tiny):
    url = tiny.url
    tiny.kill()

    tiny.restart()

    assert tiny.url == url
    assert requests.get(url + "/healthz", timeout=5).status_code == 200


def test_stop_leaves_no_process(tiny):
    pid = tiny.pid

    tiny.stop()

    assert tiny.pid is None
    assert group_members(pid) == []


def test_failing_startup_raises_with_its_log():
    service = GunicornService("tinyapp:create_broken_app()", {}, "broken", cwd=HERE)
    try:
        with pytest.raises(ServiceError) as info:
            service.start(timeout=30)
        assert "TINYAPP_BROKEN_MARKER" in str(info.value)
        assert service.pid is None
    finally:
        service.close()


def test_only_the_given_env_reaches_the_service(service_factory, monkeypatch):
    monkeypatch.setenv("TINYAPP_GREETING", "leaked from the test process")
    service = service_factory("tinyapp:create_app()", {}, "clean-env", cwd=HERE)

    assert requests.get(service.url + "/whoami", timeout=5).json()["greeting"] == ""
