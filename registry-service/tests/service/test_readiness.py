"""GET /readyz: storage checked by a write, read and delete (cached, shared, bounded in time);
the Index reported as reachable or degraded in token mode; /healthz stays liveness."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
from dataclasses import replace

import pytest
import responses
from fake_index import CREDENTIAL, NAME, REALM, URL, FakeIndex
from wharf_registry.readiness import INDEX_NOTE, PROBE_DIR
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver, PathNotFound, create_driver
from wharf_testing.s3 import MotoServer


def readyz(client):
    response = client.get("/readyz")
    return response.status_code, response.get_json()


@pytest.fixture
def settings():
    return Settings(storage_driver="filesystem", readyz_cache=0)


def readiness_of(client):
    return client.application.extensions["registry"].readiness


def test_ready_with_a_working_filesystem_and_the_probe_is_cleaned_up(client, driver):
    assert readyz(client) == (200, {"status": "ok", "storage": {"status": "ok"}})
    try:
        assert driver.list(PROBE_DIR) == []  # the probe object is deleted
    except PathNotFound:
        pass
    assert client.get("/healthz").status_code == 200


def test_a_removed_storage_directory_is_unready_but_alive(client, driver):
    shutil.rmtree(driver.root)
    status, body = readyz(client)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["storage"] == {"status": "down", "step": "stat", "error": "FileNotFoundError"}
    assert driver.root not in str(body)  # no path in an unauthenticated answer
    assert client.get("/healthz").status_code == 200  # liveness does not restart for this


def test_a_storage_directory_that_refuses_writes_is_unready(make_client, settings, tmp_path):
    root = tmp_path / "storage"
    root.mkdir()
    (root / "wharf").write_text("a file where the probe's directory should be")
    client = make_client(settings, driver=FilesystemDriver(str(root)))
    status, body = readyz(client)
    assert status == 503
    assert body["storage"]["step"] == "write" and body["storage"]["status"] == "down"


@pytest.mark.skipif(
    not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
    reason="root writes to read-only directories",
)
def test_a_read_only_storage_directory_is_unready(make_client, settings, tmp_path):
    root = tmp_path / "storage"
    root.mkdir()
    client = make_client(settings, driver=FilesystemDriver(str(root)))
    root.chmod(0o555)
    try:
        status, body = readyz(client)
    finally:
        root.chmod(0o755)
    assert status == 503
    assert body["storage"] == {"status": "down", "step": "write", "error": "PermissionError"}


def test_results_are_cached_for_the_configured_seconds(make_client, tmp_path):
    driver = FilesystemDriver(str(tmp_path / "storage"))
    client = make_client(Settings(storage_driver="filesystem", readyz_cache=300), driver=driver)
    assert readyz(client)[0] == 200
    shutil.rmtree(driver.root)
    assert readyz(client)[0] == 200  # the cached result, no new check
    assert readiness_of(client).storage.runs == 1
    uncached = make_client(Settings(storage_driver="filesystem", readyz_cache=0), driver=driver)
    assert readyz(uncached)[0] == 503
    assert readyz(uncached)[0] == 503
    assert readiness_of(uncached).storage.runs == 2


class GatedDriver(FilesystemDriver):
    """A filesystem driver whose writes wait for ``gate`` (a hung backend), counting them."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.writes = 0
        self.writing = threading.Event()

    def put_content(self, path: str, content: bytes) -> None:
        self.writes += 1
        self.writing.set()
        self.gate.wait(30)
        super().put_content(path, content)


def test_a_hung_storage_answers_503_within_the_bound_and_probes_share_one_check(
    make_client, settings, tmp_path, caplog
):
    driver = GatedDriver(str(tmp_path / "storage"))
    client = make_client(settings, driver=driver)
    app = client.application
    answers: list[tuple[int, dict]] = []

    def probe():
        answers.append(readyz(app.test_client()))

    threads = [threading.Thread(target=probe) for _ in range(5)]
    with caplog.at_level(logging.WARNING, logger="wharf_registry.readiness"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(answers) == 5
    late = [r for r in caplog.records if "has not answered" in r.getMessage()]
    assert len(late) == 1 and "step write" in late[0].getMessage()  # once, not per probe
    for status, body in answers:
        assert status == 503
        assert body["storage"] == {
            "status": "down",
            "step": "write",
            "error": "no answer within 1.5 s",
        }
    assert driver.writes == 1  # five probes, one check
    check = readiness_of(client).storage
    running = check.begin()
    driver.gate.set()  # the backend answers again: the check in progress completes
    assert running.wait(30)
    assert readyz(client) == (200, {"status": "ok", "storage": {"status": "ok"}})


def s3_driver(endpoint_url: str, bucket: str, region: str = "us-east-1", **keys):
    return create_driver(
        "s3", {"bucket": bucket, "endpoint_url": endpoint_url, "region": region, **keys}
    )


def test_ready_on_s3_then_unready_once_s3_stops(make_client, settings):
    server = MotoServer().start()
    try:
        bucket = server.create_bucket()
        keys = {"accesskey": "testing", "secretkey": "testing"}
        client = make_client(settings, driver=s3_driver(server.endpoint_url, bucket, **keys))
        assert readyz(client) == (200, {"status": "ok", "storage": {"status": "ok"}})
        assert server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    finally:
        server.stop()
    status, body = readyz(client)
    assert status == 503 and body["status"] == "unavailable"
    assert body["storage"]["status"] == "down" and body["storage"]["step"] == "stat"
    assert "127.0.0.1" not in str(body)


def test_an_s3_endpoint_that_never_answers_is_unready_within_the_bound(make_client, settings):
    listener = socket.socket()  # accepts connections (the kernel does) and never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        port = listener.getsockname()[1]
        driver = s3_driver(f"http://127.0.0.1:{port}", "bucket", accesskey="a", secretkey="b")
        client = make_client(settings, driver=driver)
        assert readyz(client) == (
            503,
            {
                "status": "unavailable",
                "storage": {"status": "down", "step": "stat", "error": "no answer within 1.5 s"},
            },
        )
    finally:
        listener.close()


def test_a_bucket_that_does_not_exist_is_unready(make_client, settings, s3_server):
    driver = s3_driver(s3_server.endpoint_url, "no-such-bucket-here", s3_server.region)
    status, body = readyz(make_client(settings, driver=driver))
    assert status == 503 and body["storage"]["status"] == "down"


# -- the Index, in token mode --------------------------------------------------------------


@pytest.fixture
def token_settings():
    return Settings(
        storage_driver="filesystem",
        auth="token",
        index_url=URL,
        index_name=NAME,
        index_credential=CREDENTIAL,
        token_realm=REALM,
        notifications_enabled=False,
        readyz_cache=0,
    )


@pytest.fixture
def index():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeIndex(rsps)


@pytest.fixture
def token_client(make_client, token_settings, driver, index):
    return make_client(token_settings, driver=driver, index=index.client())


def test_token_mode_reports_a_reachable_index(token_client, index):
    assert readyz(token_client) == (
        200,
        {"status": "ok", "storage": {"status": "ok"}, "index": {"status": "ok"}},
    )
    assert index.event_posts == [[]]  # an empty envelope: nothing applied


def test_an_unreachable_index_is_degraded_not_unready(token_client, index):
    index.down = True
    status, body = readyz(token_client)
    assert status == 200
    assert body == {
        "status": "degraded",
        "storage": {"status": "ok"},
        "index": {"status": "degraded", "step": "ping", "error": "unreachable", "note": INDEX_NOTE},
    }
    assert "keep working" in body["index"]["note"]


def test_a_refused_credential_is_degraded(make_client, token_settings, driver, index):
    wrong = replace(token_settings, index_credential="not-the-credential")
    client = make_client(wrong, driver=driver)  # the app's own ping client, wrong credential
    status, body = readyz(client)
    assert status == 200 and body["index"]["error"] == "credential refused"


def test_the_index_is_not_called_on_every_probe(token_client, index):
    for _ in range(5):
        assert readyz(token_client)[0] == 200
    assert len(index.event_posts) == 1  # storage checked each time (cache 0), the Index once
    assert readiness_of(token_client).storage.runs == 5
    index.down = True
    assert readyz(token_client)[1]["index"]["status"] == "ok"  # still the cached answer


def test_broken_storage_wins_over_a_degraded_index(token_client, index, driver):
    index.down = True
    shutil.rmtree(driver.root)
    status, body = readyz(token_client)
    assert status == 503 and body["status"] == "unavailable"
    assert body["index"]["status"] == "degraded"


def test_a_read_only_registry_writing_nothing_only_reads_its_storage(make_client, tmp_path):
    root = tmp_path / "storage"
    root.mkdir()
    (root / "wharf").write_text("not a directory: any write under /wharf fails")
    driver = FilesystemDriver(str(root))
    read_only = Settings(storage_driver="filesystem", read_only=True, readyz_cache=0)
    assert readyz(make_client(read_only, driver=driver)) == (
        200,
        {"status": "ok", "storage": {"status": "ok"}},
    )
    writable = Settings(storage_driver="filesystem", readyz_cache=0)
    assert readyz(make_client(writable, driver=driver))[0] == 503
    shutil.rmtree(root)
    assert readyz(make_client(read_only, driver=driver))[1]["storage"]["step"] == "stat"
