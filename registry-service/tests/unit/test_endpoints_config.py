"""REGISTRY_NOTIFICATIONS_ENDPOINTS: distribution's endpoint fields, defaults and errors."""

from __future__ import annotations

import json

import pytest
from wharf_registry.endpoints_config import parse_duration, parse_endpoints
from wharf_registry.settings import ConfigError, Settings

VAR = "REGISTRY_NOTIFICATIONS_ENDPOINTS"


def settings(*endpoints: dict) -> Settings:
    return Settings.from_env({VAR: json.dumps(list(endpoints))})


def test_defaults_are_distributions():
    (endpoint,) = settings({"name": "hook", "url": "https://h.example/e"}).notifications_endpoints
    assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (1.0, 10, 1.0)
    assert endpoint.headers == {} and not endpoint.disabled
    assert not endpoint.ignores("pull", "application/octet-stream")


def test_every_field():
    (endpoint,) = settings(
        {
            "name": "all_fields-1",
            "url": "http://user:pw@h.example:8080/e?token=x",
            "headers": {"Authorization": ["Bearer t"], "X-One": "single"},
            "timeout": "250ms",
            "threshold": 3,
            "backoff": "1m30s",
            "ignoredmediatypes": ["a/b"],
            "ignore": {"mediatypes": ["c/d"], "actions": ["pull", "mount"]},
            "disabled": True,
        }
    ).notifications_endpoints
    assert endpoint.headers == {"Authorization": ("Bearer t",), "X-One": ("single",)}
    assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (0.25, 3, 90.0)
    assert endpoint.ignored_media_types == {"a/b", "c/d"}
    assert endpoint.ignores("pull", "x/y") and endpoint.ignores("push", "c/d")
    assert not endpoint.ignores("push", "x/y")
    assert endpoint.disabled
    assert endpoint.safe_url == "http://h.example:8080/e"  # no credentials in logs
    assert "Bearer" not in repr(endpoint)


def test_zero_means_the_default_as_in_distribution():
    (endpoint,) = settings(
        {"name": "z", "url": "http://h/", "timeout": "0", "threshold": 0, "backoff": 0}
    ).notifications_endpoints
    assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (1.0, 10, 1.0)


def test_disabled_endpoints_are_not_active():
    s = settings(
        {"name": "on", "url": "http://a/"}, {"name": "off", "url": "http://b/", "disabled": True}
    )
    assert [e.name for e in s.notifications_endpoints] == ["on", "off"]
    assert [e.name for e in s.active_endpoints] == ["on"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("1s", 1.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("100us", 1e-4),
        ("2µs", 2e-6),
        ("10ns", 1e-8),
    ],
)
def test_durations_are_gos(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["500", "1 s", "1d", "s", "-1s", "", "1s2"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


BAD = [
    ("not json", "[{", f"{VAR}: not JSON"),
    ("not a list", '{"name": "a"}', f"{VAR}: must be a JSON list"),
    ("not an object", '["a"]', f"{VAR}: endpoint 0: must be an object"),
    ("no name", '[{"url": "http://a/"}]', f"{VAR}: endpoint 0: name: required"),
    ("bad name", '[{"name": "A B", "url": "http://a/"}]', "endpoint 'A B': name: required"),
    ("no url", '[{"name": "a"}]', "endpoint 'a': url: required: an http(s) URL"),
    ("ftp url", '[{"name": "a", "url": "ftp://a/"}]', "endpoint 'a': url: required"),
    (
        "timeout",
        '[{"name": "a", "url": "http://a/", "timeout": "5"}]',
        "'a': timeout: '5' has no unit",
    ),
    ("backoff", '[{"name": "a", "url": "http://a/", "backoff": "soon"}]', "'a': backoff: 'soon'"),
    ("threshold", '[{"name": "a", "url": "http://a/", "threshold": "ten"}]', "'a': threshold:"),
    (
        "negative threshold",
        '[{"name": "a", "url": "http://a/", "threshold": -1}]',
        "'a': threshold:",
    ),
    ("headers", '[{"name": "a", "url": "http://a/", "headers": ["x"]}]', "'a': headers: must map"),
    (
        "header value",
        '[{"name": "a", "url": "http://a/", "headers": {"X": [1]}}]',
        "'a': headers: X:",
    ),
    (
        "header name",
        '[{"name": "a", "url": "http://a/", "headers": {"X Y": ["v"]}}]',
        "'a': headers: 'X Y'",
    ),
    (
        "content type",
        '[{"name": "a", "url": "http://a/", "headers": {"content-type": ["v"]}}]',
        "content-type is set by the registry",
    ),
    (
        "media types",
        '[{"name": "a", "url": "http://a/", "ignoredmediatypes": "a/b"}]',
        "'a': ignoredmediatypes: must be a list",
    ),
    (
        "ignore",
        '[{"name": "a", "url": "http://a/", "ignore": {"tags": []}}]',
        "'a': ignore: must be an object",
    ),
    (
        "actions",
        '[{"name": "a", "url": "http://a/", "ignore": {"actions": ["poke"]}}]',
        "'a': ignore.actions: poke: not one of",
    ),
    ("disabled", '[{"name": "a", "url": "http://a/", "disabled": "perhaps"}]', "'a': disabled:"),
    (
        "unknown field",
        '[{"name": "a", "url": "http://a/", "treshold": 3}]',
        "'a': treshold: unknown field",
    ),
    (
        "twice",
        '[{"name": "a", "url": "http://a/"}, {"name": "a", "url": "http://b/"}]',
        "'a': name used twice",
    ),
]


@pytest.mark.parametrize(("raw", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_values_stop_start_up_naming_the_variable_endpoint_and_field(raw, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({VAR: raw})
    assert message in str(caught.value)


def test_every_bad_field_is_reported_at_once():
    _, problems = parse_endpoints(
        '[{"name": "a", "url": "ftp://x", "timeout": "x", "backoff": "y", "threshold": -2}]'
    )
    assert [p.split(": ")[2] for p in problems] == ["url", "timeout", "backoff", "threshold"]
