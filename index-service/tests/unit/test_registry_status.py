"""RegistryHTTP.outbox_statuses over ``responses``: every registry's ``GET /status`` asked at
once, without a token; each answer read as the registry's report or as ``unknown``; no
answer by the deadline is ``unreachable``, and the call returns at the deadline while a
registry still hangs."""

from __future__ import annotations

import json
import threading

import requests
import responses
from wharf_index.adapters.registry_http import STATUS_LIMIT, RegistryHTTP
from wharf_index.domain.model import Registry
from wharf_index.domain.records import OutboxStatus


def registry(name: str) -> Registry:
    return Registry(1, name, f"https://{name}:5000/", "private")


def report(**outbox) -> dict:
    return {"body": json.dumps({"outbox": outbox}), "content_type": "application/json"}


OK = {"status": "ok", "pending": 3, "pending_capped": False, "oldest_age_seconds": 4.2}


def test_each_report_is_read_and_anything_else_is_unknown():
    answers = {
        "busy": report(**OK, oldest_at="20301231T000000.000000Z"),
        "calm": report(status="ok", pending=0, pending_capped=False, oldest_age_seconds=0),
        "full": report(status="ok", pending=1000, pending_capped=True, oldest_age_seconds=90),
        "quiet": report(status="off"),
        "broken": report(status="down", step="list", error="StorageError"),
        "reference": {"status": 404, "body": "404 page not found"},
        "junk": {"body": "<html>hello</html>"},
        "typed": report(status="ok", pending="3", pending_capped=False, oldest_age_seconds=1),
        "negative": report(status="ok", pending=-1, pending_capped=False, oldest_age_seconds=1),
        "boolean": report(status="ok", pending=True, pending_capped=False, oldest_age_seconds=1),
        "nan": {"body": '{"outbox": {"status": "ok", "pending": 1, "oldest_age_seconds": NaN}}'},
        "strange": report(status="sleeping"),
        "deep": {"body": "[" * 100 + "]" * 100},
        "huge": {"body": json.dumps({"outbox": OK, "pad": "x" * STATUS_LIMIT})},
        "moved": {"status": 307, "headers": {"Location": "https://elsewhere.example/status"}},
    }
    with responses.RequestsMock() as mock:
        for name, answer in answers.items():
            mock.get(f"https://{name}:5000/status", **answer)
        mock.get("https://gone:5000/status", body=requests.ConnectionError("refused"))
        found = RegistryHTTP().outbox_statuses(
            [registry(n) for n in [*answers, "gone"]], timeout=10
        )
        assert all("Authorization" not in call.request.headers for call in mock.calls)
    assert found.pop("busy") == OutboxStatus("ok", 3, False, 4.2)
    assert found.pop("calm") == OutboxStatus("ok", 0, False, 0.0)
    assert found.pop("full") == OutboxStatus("ok", 1000, True, 90.0)
    assert found.pop("quiet") == OutboxStatus("off")
    assert found.pop("broken") == OutboxStatus("down")
    assert found.pop("gone") == OutboxStatus("unreachable")
    assert found == dict.fromkeys(found, OutboxStatus("unknown")) and len(found) == 10


def test_a_hung_registry_is_unreachable_at_the_deadline_and_the_others_answer():
    release = threading.Event()

    def hang(request):
        release.wait(30)
        return 200, {}, json.dumps({"outbox": OK})

    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback("GET", "https://slow:5000/status", callback=hang)
            mock.get("https://fast:5000/status", **report(**OK))
            found = RegistryHTTP().outbox_statuses(
                [registry("slow"), registry("fast")], timeout=0.5
            )
            assert found == {
                "slow": OutboxStatus("unreachable"),
                "fast": OutboxStatus("ok", 3, False, 4.2),
            }
    finally:
        release.set()


def test_no_registry_no_call():
    assert RegistryHTTP().outbox_statuses([], timeout=1) == {}


def test_a_bad_url_is_unreachable():
    bad = Registry(1, "bad", "not a url", "private")
    assert RegistryHTTP().outbox_statuses([bad], timeout=1) == {"bad": OutboxStatus("unreachable")}
