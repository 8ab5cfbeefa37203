"""Notification envelopes (distribution docs, "Work with notifications"; notifications/event.go)."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protocol_strategies import repository_names, sha256_hex, tags
from wharf_protocol.descriptors import MAX_SIZE
from wharf_protocol.digests import Digest
from wharf_protocol.events import (
    ACCEPTED_EVENTS_MEDIA_TYPES,
    ACTIONS,
    DELETE,
    EVENTS_MEDIA_TYPE,
    GC,
    MAX_PULL_COUNT,
    MOUNT,
    PULL,
    PUSH,
    QUOTA_REFUSED,
    WHARF_ACTIONS,
    Actor,
    Descriptor,
    Event,
    EventsInvalid,
    GcSummary,
    Platform,
    RequestRecord,
    Source,
    Target,
    dump_envelope,
    is_events_media_type,
    is_wharf_action,
    load_envelope,
    new_event,
)

MANIFEST_DIGEST = "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf"
LAYER_DIGEST = "sha256:c3b3692957d439ac1928219a83fac91e7bf96c153725526874673ae1f2023f8d"
V2 = "application/vnd.docker.distribution.manifest.v2+json"

# As distribution 2.8 posts it (Content-Type ...events.v1+json): nanosecond timestamps with
# an offset, length duplicating size, "actor": {} for anonymous, fields it may add later.
SAMPLE = """{
  "events": [
    {
      "id": "320678d8-ca14-430f-8bb6-4ca139cd83f7",
      "timestamp": "2016-03-09T14:44:26.402973972-08:00",
      "action": "pull",
      "target": {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "size": 708,
        "digest": "@MANIFEST@",
        "length": 708,
        "repository": "hello-world",
        "url": "http://192.168.100.227:5000/v2/hello-world/manifests/@MANIFEST@",
        "tag": "latest"
      },
      "request": {
        "id": "6df24a34-0959-4923-81ca-14f09767db19",
        "addr": "192.168.64.11:42961",
        "host": "192.168.100.227:5000",
        "method": "GET",
        "useragent": "curl/7.38.0"
      },
      "actor": {},
      "source": {"addr": "xtal.local:5000", "instanceID": "a53db899-3b4b-4a62-a067-8dd013beaca4"}
    },
    {
      "id": "asdf-asdf-asdf-asdf-1",
      "timestamp": "2006-01-02T15:04:05Z",
      "action": "push",
      "target": {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "size": 2,
        "digest": "@LAYER@",
        "length": 2,
        "repository": "library/test",
        "url": "https://example.com/v2/library/test/blobs/@LAYER@"
      },
      "request": {"id": "asdfasdf", "addr": "client.local", "host": "registrycluster.local",
                  "method": "PUT", "useragent": "test/0.1"},
      "actor": {"name": "test-actor"},
      "source": {"addr": "hostname.local:port", "instanceID": "i-1"}
    },
    {
      "id": "asdf-asdf-asdf-asdf-2",
      "timestamp": "2006-01-02T15:04:05Z",
      "action": "mount",
      "target": {"mediaType": "application/octet-stream", "size": 2, "digest": "@LAYER@",
                 "length": 2, "repository": "library/other", "fromRepository": "library/test"},
      "request": {"id": "r3", "addr": "a", "host": "h", "method": "POST", "useragent": "u"},
      "actor": {"name": "test-actor"},
      "source": {"addr": "s", "instanceID": "i-1"}
    },
    {
      "id": "asdf-asdf-asdf-asdf-3",
      "timestamp": "2006-01-02T15:04:05Z",
      "action": "delete",
      "target": {"digest": "@MANIFEST@", "repository": "library/test"},
      "request": {"id": "r4", "addr": "a", "host": "h", "method": "DELETE", "useragent": "u"},
      "actor": {},
      "source": {"addr": "s", "instanceID": "i-1"}
    },
    {
      "id": "asdf-asdf-asdf-asdf-4",
      "timestamp": "2006-01-02T15:04:05Z",
      "action": "delete",
      "target": {"repository": "library/test"},
      "request": {"id": "r5", "addr": "a", "host": "h", "method": "DELETE", "useragent": "u"},
      "actor": {"name": "admin"},
      "source": {"addr": "s", "instanceID": "i-1"}
    }
  ]
}""".replace("@MANIFEST@", MANIFEST_DIGEST).replace("@LAYER@", LAYER_DIGEST)


def test_reference_registry_sample_loads_strictly():
    events = load_envelope(SAMPLE, strict=True)
    assert [e.action for e in events] == [PULL, PUSH, MOUNT, DELETE, DELETE]
    pull = events[0]
    assert pull.timestamp == datetime(
        2016, 3, 9, 14, 44, 26, 402973, tzinfo=timezone(timedelta(hours=-8))
    )
    assert pull.target == Target(
        V2,
        MANIFEST_DIGEST,
        708,
        "hello-world",
        length=708,
        tag="latest",
        url=f"http://192.168.100.227:5000/v2/hello-world/manifests/{MANIFEST_DIGEST}",
    )
    assert pull.request == RequestRecord(
        "6df24a34-0959-4923-81ca-14f09767db19",
        "192.168.64.11:42961",
        "192.168.100.227:5000",
        "GET",
        "curl/7.38.0",
    )
    assert pull.actor == Actor("")
    assert pull.source == Source("xtal.local:5000", "a53db899-3b4b-4a62-a067-8dd013beaca4")
    assert events[2].target.from_repository == "library/test"
    assert events[3].target.digest == MANIFEST_DIGEST and events[3].target.media_type == ""
    repo_delete = events[4].target
    assert (repo_delete.repository, repo_delete.digest, repo_delete.tag, repo_delete.size) == (
        "library/test",
        "",
        "",
        None,
    )


def test_sample_dumps_back_to_the_same_wire_fields():
    original = json.loads(SAMPLE)
    dumped = dump_envelope(load_envelope(original))
    for theirs, ours in zip(original["events"], dumped["events"], strict=True):
        assert ours["target"] == theirs["target"]
        assert ours["source"] == theirs["source"]
        assert ours["actor"] == theirs["actor"]
        assert ours["request"] == theirs["request"]
    assert dumped["events"][1]["timestamp"] == "2006-01-02T15:04:05Z"
    assert dumped["events"][0]["timestamp"] == "2016-03-09T14:44:26.402973-08:00"


def test_unknown_fields_excluded_unless_strict():
    data = json.loads(SAMPLE)
    data["extra"] = 1
    data["events"][0]["new"] = "x"
    data["events"][0]["target"]["annotations"] = {"a": "b"}
    data["events"][0]["source"]["zone"] = "eu"
    assert load_envelope(data) == load_envelope(SAMPLE)
    with pytest.raises(EventsInvalid) as info:
        load_envelope(data, strict=True)
    assert set(info.value.messages) == {"extra", "events"}
    assert set(info.value.messages["events"][0]) == {"new", "target", "source"}


def test_media_types():
    assert EVENTS_MEDIA_TYPE == "application/vnd.docker.distribution.events.v2+json"
    assert ACCEPTED_EVENTS_MEDIA_TYPES == (
        "application/vnd.docker.distribution.events.v1+json",
        EVENTS_MEDIA_TYPE,
    )
    assert is_events_media_type("application/vnd.docker.distribution.events.v1+json")
    assert is_events_media_type(EVENTS_MEDIA_TYPE + "; charset=utf-8")
    assert not is_events_media_type("application/json")
    assert not is_events_media_type(None)


def test_new_event_ids_are_unique_uuid4_and_times_are_utc():
    target = Target("", "", None, "a/b")
    events = [new_event(PUSH, target) for _ in range(100)]
    assert len({e.id for e in events}) == 100
    assert all(len(e.id) == 36 and e.id[14] == "4" for e in events)
    assert all(e.timestamp.tzinfo is UTC for e in events)
    assert events[0].request == RequestRecord() and events[0].actor == Actor()


def test_event_validation():
    target = Target("", "", None, "a")
    with pytest.raises(ValueError):
        new_event("tag", target)
    with pytest.raises(ValueError):
        Event("x", datetime(2020, 1, 1), PUSH, target)  # noqa: DTZ001 - naive on purpose


def test_target_accepts_a_digest_value():
    target = Target("m", Digest.parse(LAYER_DIGEST), 2, "a", length=2)
    assert target.digest == LAYER_DIGEST
    assert target == Target("m", LAYER_DIGEST, 2, "a", length=2)


def test_repository_delete_dumps_only_the_repository():
    event = new_event(DELETE, Target("", "", None, "acme/app"), actor=Actor("alice"))
    wire = dump_envelope([event])["events"][0]
    assert wire["target"] == {"repository": "acme/app"}
    assert wire["actor"] == {"name": "alice"}
    assert wire["source"] == {"addr": "", "instanceID": ""}
    assert wire["timestamp"].endswith("Z")


def pull_wire(**fields):
    data = json.loads(SAMPLE)
    data["events"] = [{**data["events"][0], **fields}]
    return data


def test_a_pull_count_loads_and_dumps_as_wharfs_count_field():
    (event,) = load_envelope(pull_wire(count=17), strict=True)
    assert event.count == 17 and event.action == PULL
    assert dump_envelope([event])["events"][0]["count"] == 17
    (top,) = load_envelope(pull_wire(count=MAX_PULL_COUNT))
    assert top.count == MAX_PULL_COUNT


def test_an_absent_count_is_one_and_one_dumps_as_the_reference_envelope():
    (event,) = load_envelope(pull_wire())
    assert event.count == 1
    assert "count" not in dump_envelope([event])["events"][0]
    assert load_envelope(pull_wire(count=1)) == [event]
    push = new_event(PUSH, Target("", LAYER_DIGEST, 1, "a/b"))
    assert push.count == 1 and "count" not in dump_envelope([push])["events"][0]


@pytest.mark.parametrize(
    "count", [0, -3, MAX_PULL_COUNT + 1, 10**400, 2.0, 1.5, "5", True, None, [], {}]
)
def test_bad_counts_make_the_envelope_invalid(count):
    with pytest.raises(EventsInvalid) as info:
        load_envelope(pull_wire(count=count))
    assert "count" in info.value.messages["events"][0]


@pytest.mark.parametrize("action", [PUSH, DELETE, MOUNT])
def test_only_pull_events_carry_a_count(action):
    with pytest.raises(EventsInvalid) as info:
        load_envelope(pull_wire(action=action, count=2))
    assert info.value.messages["events"][0] == {"count": ["only pull events carry a count"]}
    assert load_envelope(pull_wire(action=action, count=1))[0].count == 1


def test_event_count_validation():
    target = Target("", "", None, "a")
    now = datetime.now(UTC)
    assert Event("x", now, PULL, target, count=MAX_PULL_COUNT).count == MAX_PULL_COUNT
    for action, count in [(PULL, 0), (PULL, MAX_PULL_COUNT + 1), (PULL, True), (PUSH, 2)]:
        with pytest.raises(ValueError, match="count"):
            Event("x", now, action, target, count=count)


BAD_EVENTS = [
    ("id", None),
    ("id", ""),
    ("timestamp", "yesterday"),
    ("timestamp", "2006-01-02T15:04:05"),
    ("action", "tag"),
    ("target", None),
    ("target", {"digest": LAYER_DIGEST}),
    ("target", {"repository": "a", "digest": "sha256:xyz!"}),
    ("target", {"repository": "a", "size": -1}),
    ("target", {"repository": "a", "size": "2"}),
    ("target", {"repository": "a", "size": 2**63}),
    ("target", {"repository": "a", "size": 10**400}),
    ("target", {"repository": "a", "length": 2**63}),
    ("target", {"repository": "a", "size": 1.5}),
    (
        "target",
        {
            "repository": "a",
            "references": [{"mediaType": "m", "digest": LAYER_DIGEST, "size": 2**63}],
        },
    ),
    ("target", {"repository": "a", "references": [{"mediaType": "m", "digest": "x", "size": 1}]}),
    ("request", "GET"),
    ("actor", {"name": 5}),
]


@pytest.mark.parametrize(("key", "value"), BAD_EVENTS)
def test_invalid_events(key, value):
    data = json.loads(SAMPLE)
    if value is None:
        del data["events"][0][key]
    else:
        data["events"][0][key] = value
    with pytest.raises(EventsInvalid) as info:
        load_envelope(data)
    assert key in info.value.messages["events"][0]


def test_sizes_up_to_the_int64_maximum_load():
    data = json.loads(SAMPLE)
    target = data["events"][0]["target"]
    target["size"] = target["length"] = MAX_SIZE
    target["references"] = [{"mediaType": "m", "digest": LAYER_DIGEST, "size": MAX_SIZE}]
    event = load_envelope(data)[0]
    assert event.target.size == event.target.length == event.target.references[0].size == 2**63 - 1
    text = json.dumps(data).replace(str(MAX_SIZE), "1" + "0" * 400)  # as a registry sends it
    with pytest.raises(EventsInvalid) as info:
        load_envelope(text)
    assert "2**63" in str(info.value.messages["events"][0]["target"])


@pytest.mark.parametrize("data", ["{", b"\xff", "[]", {}, {"events": {}}, {"events": [1]}])
def test_invalid_envelopes(data):
    with pytest.raises(EventsInvalid):
        load_envelope(data)


DEEP_ENVELOPES = [
    '{"events": [' + "[" * 50_000 + "]" * 50_000 + "]}",
    '{"events": [{"target": ' + '{"a":' * 50_000 + "1" + "}" * 50_001 + "]}",
]


@pytest.mark.parametrize("deep", DEEP_ENVELOPES)
def test_deeply_nested_envelopes_are_invalid_not_a_recursion_error(deep):
    for data in (deep, deep.encode()):
        with pytest.raises(EventsInvalid) as info:
            load_envelope(data)
        assert "nested deeper than" in str(info.value.messages)


def test_missing_request_actor_source_default_to_empty_records():
    data = {
        "events": [
            {
                "id": "1",
                "timestamp": "2006-01-02T15:04:05Z",
                "action": "pull",
                "target": {"repository": "a"},
            }
        ]
    }
    (event,) = load_envelope(json.dumps(data).encode(), strict=True)
    assert (event.request, event.actor, event.source) == (RequestRecord(), Actor(), Source())


platforms = st.builds(
    Platform, st.text(max_size=8), st.text(max_size=8), st.text(max_size=4)
).filter(lambda p: p.os or p.architecture or p.variant)  # an empty one dumps as {}
descriptors = st.builds(
    Descriptor,
    st.text(max_size=20),
    sha256_hex.map("sha256:".__add__),
    st.integers(0, 2**40),
    st.one_of(st.none(), platforms),
)
targets = st.builds(
    Target,
    st.text(max_size=30),
    st.one_of(st.just(""), sha256_hex.map("sha256:".__add__)),
    st.one_of(st.none(), st.integers(0, 2**40)),
    repository_names,
    url=st.text(max_size=30),
    tag=st.one_of(st.just(""), tags),
    length=st.one_of(st.none(), st.integers(0, 2**40)),
    from_repository=st.one_of(st.just(""), repository_names),
    references=st.lists(descriptors, max_size=3).map(tuple),
)
events_strategy = st.sampled_from(ACTIONS).flatmap(
    lambda action: st.builds(
        Event,
        st.uuids().map(str),
        st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])),
        st.just(action),
        targets,
        st.builds(RequestRecord, *[st.text(max_size=10)] * 5),
        st.builds(Actor, st.text(max_size=10)),
        st.builds(Source, st.text(max_size=10), st.text(max_size=10)),
        st.integers(1, MAX_PULL_COUNT) if action == PULL else st.just(1),
    )
)


@settings(max_examples=60)
@given(st.lists(events_strategy, max_size=4))
def test_dump_load_round_trip(events):
    wire = json.loads(json.dumps(dump_envelope(events)))
    assert load_envelope(wire, strict=True) == events


def test_an_index_reference_carries_its_platform_as_the_reference_registry_sends_it():
    wire = dump_envelope(
        [
            new_event(
                PUSH, Target("application/vnd.oci.image.index.v1+json", MANIFEST_DIGEST, 2, "a/b")
            )
        ]
    )
    wire["events"][0]["target"]["references"] = [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": LAYER_DIGEST,
            "size": 7,
            "platform": {
                "architecture": "arm64",
                "os": "linux",
                "variant": "v8",
                "os.version": "",
                "os.features": ["x"],
            },
        },
        {"mediaType": "m", "digest": LAYER_DIGEST, "size": 1},
    ]
    (event,) = load_envelope(json.dumps(wire).encode())
    first, second = event.target.references
    assert first.platform == Platform("linux", "arm64", "v8")
    assert second.platform is None
    dumped = dump_envelope([event])["events"][0]["target"]["references"]
    assert dumped[0]["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}
    assert "platform" not in dumped[1]


# -- Wharf's extension actions (for the Index only) -----------------------------------------

GC_SUMMARY = GcSummary(
    started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    finished_at=datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC),
    dry_run=False,
    blobs_deleted=3,
    manifests_deleted=1,
    bytes_freed=12345,
    uploads_purged=2,
    blobs_marked=40,
)


def gc_wire(**summary):
    event = new_event(GC, Target("", "", None, "", summary=GC_SUMMARY))
    wire = dump_envelope([event])
    wire["events"][0]["target"]["summary"].update(summary)
    return wire


def test_a_gc_event_carries_its_summary_and_no_repository():
    event = new_event(GC, Target("", "", None, "", summary=GC_SUMMARY))
    wire = dump_envelope([event])
    assert wire["events"][0]["action"] == "wharf.gc"
    assert wire["events"][0]["target"] == {
        "summary": {
            "startedAt": "2026-01-02T03:04:05Z",
            "finishedAt": "2026-01-02T03:05:00Z",
            "dryRun": False,
            "blobsDeleted": 3,
            "manifestsDeleted": 1,
            "bytesFreed": 12345,
            "uploadsPurged": 2,
            "blobsMarked": 40,
        }
    }
    [loaded] = load_envelope(json.dumps(wire), strict=True)
    assert loaded == event and is_wharf_action(loaded.action)
    assert GC_SUMMARY.to_dict()["started_at"] == "2026-01-02T03:04:05Z"


def test_a_quota_refusal_carries_repository_and_message():
    target = Target("", "", None, "alice/app", message="namespace alice is over its quota")
    event = new_event(QUOTA_REFUSED, target, actor=Actor("alice"))
    wire = dump_envelope([event])
    assert wire["events"][0]["target"] == {
        "repository": "alice/app",
        "message": "namespace alice is over its quota",
    }
    assert load_envelope(json.dumps(wire), strict=True) == [event]
    assert set(WHARF_ACTIONS).isdisjoint(ACTIONS)


@pytest.mark.parametrize(
    "change",
    [
        {"dryRun": 1},
        {"dryRun": "false"},
        {"bytesFreed": -1},
        {"blobsDeleted": 1.5},
        {"blobsMarked": MAX_SIZE + 1},
        {"startedAt": "yesterday"},
        {"finishedAt": "2026-01-02T03:05:00"},  # no offset
    ],
)
def test_bad_gc_summaries_make_the_envelope_invalid(change):
    with pytest.raises(EventsInvalid):
        load_envelope(gc_wire(**change))


@pytest.mark.parametrize(
    "event",
    [
        {"action": "wharf.gc", "target": {"repository": ""}},  # no summary
        {"action": "wharf.quota_refused", "target": {"repository": "alice/app"}},  # no message
        {"action": "wharf.quota_refused", "target": {"repository": "a/b", "message": "x" * 1025}},
        {"action": "wharf.quota_refused", "target": {"message": "over quota"}},  # no repository
        {"action": "push", "target": {"repository": "alice/app", "message": "hi"}},
        {"action": "wharf.unknown", "target": {"repository": "alice/app"}},
        {"action": "push", "target": {}},
    ],
)
def test_extension_fields_belong_to_their_actions(event):
    wire = {"id": "e1", "timestamp": "2026-01-02T03:04:05Z", **event}
    with pytest.raises(EventsInvalid):
        load_envelope({"events": [wire]})


def test_a_gc_event_naming_a_repository_or_missing_a_field_is_invalid():
    wire = gc_wire()
    wire["events"][0]["target"]["repository"] = "alice/app"
    with pytest.raises(EventsInvalid):
        load_envelope(wire)
    wire = gc_wire()
    del wire["events"][0]["target"]["summary"]["uploadsPurged"]
    with pytest.raises(EventsInvalid):
        load_envelope(wire)
    with pytest.raises(ValueError):
        new_event(GC, Target("", "", None, "alice/app", summary=GC_SUMMARY))
    with pytest.raises(ValueError):
        replace(GC_SUMMARY, started_at=datetime(2026, 1, 1))  # naive
