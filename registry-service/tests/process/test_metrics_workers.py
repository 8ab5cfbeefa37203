"""GET /metrics under gunicorn with two workers: every worker's requests are in every scrape.

The registry runs with its gunicorn configuration (wharf_registry.gunicorn_conf), whose master
prepares PROMETHEUS_MULTIPROC_DIR before the workers fork. Each worker writes its samples to
files named after its pid there, which is how the test knows that both workers served.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from registry_http import open_request, start_upload
from wharf_testing.processes import wait_until

MAX_REQUESTS = 2000  # requests on fresh connections until both workers served one
REQUESTS = "wharf_registry_http_requests_total"


def served_by(directory: Path) -> set[str]:
    """The pids of the processes that counted something (``counter_<pid>.db``)."""
    return {p.stem.split("_", 1)[1] for p in directory.glob("counter_*.db")}


def sample(url: str, name: str, **labels: str) -> float:
    """One sample of one scrape (of whichever worker answers it); 0 when absent."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def base_requests(url: str) -> float:
    """``GET /v2/`` answered 200, as one scrape reports it."""
    return sample(url, REQUESTS, route="/v2/", method="GET", code="200")


def spread_requests(url: str, directory: Path) -> int:
    """Send ``GET /v2/`` on new connections until two workers have counted; return how many."""
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(served_by(directory)) < 2 and sent < MAX_REQUESTS:
            codes = list(pool.map(lambda _: requests.get(f"{url}/v2/", timeout=10), range(16)))
            assert {r.status_code for r in codes} == {200}
            sent += len(codes)
    assert len(served_by(directory)) >= 2, "one worker served every request"
    return sent


def test_every_workers_requests_are_counted_in_one_scrape(serve_registry, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    service = serve_registry(TMPDIR=str(scratch))  # the master's temporary directory goes here
    (directory,) = scratch.glob("wharf-metrics-*")
    sent = spread_requests(service.url, directory)
    for _ in range(4):  # any worker may answer the scrape: each has the same total
        assert base_requests(service.url) == sent
    service.stop()
    assert not directory.exists()  # the directory it made is removed at exit


def test_an_operators_directory_is_emptied_at_each_start(serve_registry, tmp_path):
    directory = tmp_path / "metrics"
    service = serve_registry(PROMETHEUS_MULTIPROC_DIR=str(directory))
    sent = spread_requests(service.url, directory)
    assert base_requests(service.url) == sent
    service.stop()
    assert directory.exists()  # the operator's: kept
    service.start()
    assert base_requests(service.url) == 0  # the earlier start's samples are gone


def in_flight(directory: Path) -> list[Path]:
    """The live-gauge files (one per worker, ``gauge_livesum_<pid>.db``) counting an upload."""
    return [
        path
        for path in directory.glob("gauge_livesum_*.db")
        if any(value for _, value, _, _ in MmapedDict.read_all_values_from_file(str(path)))
    ]


def test_a_dead_workers_uploads_are_no_longer_in_flight(serve_registry, tmp_path):
    directory = tmp_path / "metrics"
    service = serve_registry(PROMETHEUS_MULTIPROC_DIR=str(directory))
    location = start_upload(service.url, "team/stalled")
    stalled = open_request(location, "PATCH", 1000, {"Content-Range": "0-999"})
    try:
        stalled.sendall(b"x" * 10)  # and nothing more: the upload stays in flight
        assert wait_until(lambda: in_flight(directory), 30)
        assert sample(service.url, "wharf_registry_uploads_in_flight") == 1
        (gauge,) = in_flight(directory)  # the file of the worker receiving the upload
        worker = int(gauge.stem.rsplit("_", 1)[1])
        os.kill(worker, signal.SIGKILL)
        # the master's child_exit hook marks the worker dead: its live gauge file goes
        assert wait_until(lambda: not gauge.exists(), 30)
        assert sample(service.url, "wharf_registry_uploads_in_flight") == 0
    finally:
        stalled.close()
