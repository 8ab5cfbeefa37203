"""The webhook bodies (services/webhook_payloads.py): both formats, parsed back and checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from wharf_index.services import webhook_events
from wharf_index.services.webhook_payloads import (
    Occurrence,
    RepositoryFacts,
    callback_url,
    render,
)

PUBLIC = "https://index.example.com"
DELIVERY = "6f1c2a8e-2b7e-4c55-9d47-0f4bb2b7a001"
CALLBACK = callback_url(PUBLIC, "tok")
AT = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
REPO = RepositoryFacts(
    namespace="alice",
    name="tools/app",
    is_private=True,
    description="the app \u2603",
    star_count=3,
    comment_count=2,
    pull_count=40,
    created_at=CREATED,
)
PUSHED = Occurrence(
    event="tag_pushed",
    at=AT,
    namespace="alice",
    repository=REPO,
    tag="v1.2",
    digest="sha256:" + "a" * 64,
    media_type="application/vnd.oci.image.manifest.v1+json",
    pusher="ci-bot",
    registry="registry.example.com",
)


def _render(fmt: str, occurrence: Occurrence = PUSHED) -> str:
    return render(fmt, occurrence, delivery_id=DELIVERY, callback=CALLBACK, public_url=PUBLIC)


def test_dockerhub_has_docker_hubs_fields_and_ours():
    body = json.loads(_render("dockerhub"))
    assert body["callback_url"] == "https://index.example.com/api/v1/webhooks/callbacks/tok"
    assert body["push_data"] == {
        "pushed_at": int(AT.timestamp()),
        "pusher": "ci-bot",
        "tag": "v1.2",
        "images": [],
        "digest": "sha256:" + "a" * 64,
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "registry": "registry.example.com",
    }
    assert body["repository"] == {
        "repo_name": "alice/tools/app",
        "namespace": "alice",
        "name": "tools/app",
        "owner": "alice",
        "repo_url": "https://index.example.com/repositories/alice/tools/app",
        "is_private": True,
        "is_official": False,
        "is_trusted": False,
        "description": "the app \u2603",
        "full_description": "the app \u2603",
        "star_count": 3,
        "comment_count": 2,
        "pull_count": 40,
        "date_created": int(CREATED.timestamp()),
        "status": "Active",
    }
    assert (body["event"], body["delivery_id"]) == ("tag_pushed", DELIVERY)


def test_cloudevents_structured_mode():
    body = json.loads(_render("cloudevents"))
    assert {k: v for k, v in body.items() if k != "data"} == {
        "specversion": "1.0",
        "id": DELIVERY,
        "source": "https://index.example.com/repositories/alice/tools/app",
        "type": "io.wharf.tag.pushed",
        "subject": "alice/tools/app:v1.2",
        "time": "2024-05-01T12:00:30+00:00",
        "datacontenttype": "application/json",
    }
    assert datetime.fromisoformat(body["time"]) == AT
    data = body["data"]
    assert data["repository"] == "alice/tools/app" and data["tag"] == "v1.2"
    assert data["digest"] == PUSHED.digest and data["media_type"] == PUSHED.media_type
    assert data["pusher"] == "ci-bot" and data["registry"] == "registry.example.com"
    assert data["callback_url"] == CALLBACK


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("tag_deleted", "io.wharf.tag.deleted"),
        ("repository_deleted", "io.wharf.repository.deleted"),
        ("ping", "io.wharf.ping"),
    ],
)
def test_event_types(event, kind):
    occurrence = Occurrence(event=event, at=AT, namespace="alice", repository=REPO)
    assert json.loads(_render("cloudevents", occurrence))["type"] == kind
    assert json.loads(_render("cloudevents", occurrence))["subject"] == "alice/tools/app"
    assert json.loads(_render("dockerhub", occurrence))["event"] == event


def test_a_namespace_ping_has_no_repository():
    ping = Occurrence(event="ping", at=AT, namespace="acme", pusher="alice")
    hub = json.loads(_render("dockerhub", ping))
    assert hub["repository"] is None and hub["push_data"]["pusher"] == "alice"
    cloud = json.loads(_render("cloudevents", ping))
    assert cloud["source"] == "https://index.example.com/namespaces/acme"
    assert cloud["subject"] == "acme" and cloud["data"]["repository"] is None


def test_bodies_are_compact_ascii_json_in_a_fixed_order():
    for fmt in ("dockerhub", "cloudevents"):
        text = _render(fmt)
        assert text.isascii() and ", " not in text and ": " not in text
        assert text == json.dumps(json.loads(text), separators=(",", ":"))
        assert text == _render(fmt)  # the same facts, the same bytes
    assert _render("dockerhub").startswith('{"callback_url":')
    assert _render("cloudevents").startswith('{"specversion":"1.0",')


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("", "anything", True),
        ("v*", "v1.2", True),
        ("v*", "V1", False),
        ("release-[0-9]*", "release-3", True),
        ("release-[0-9]*", "release-x", False),
        ("latest", "latest", True),
        ("lat?st", "latest", True),
        ("[!d]*", "dev", False),
    ],
)
def test_tag_patterns_are_case_sensitive_globs(pattern, tag, matches):
    assert webhook_events.tag_matches(pattern, tag) is matches
