"""REGISTRY_PROXY_*: Distribution's single upstream, Wharf's upstreams by prefix, and each
bad value stopping start-up with the setting's name; fetch leases taken over when dead; an
upstream's up/down memo."""

from __future__ import annotations

import json
import logging

import pytest
from wharf_protocol.digests import digest_bytes
from wharf_registry.cli import configure
from wharf_registry.proxy.health import UpstreamHealth
from wharf_registry.proxy.leases import FetchLeases
from wharf_registry.settings import ConfigError, Settings
from wharf_registry.storage import InMemoryDriver


def test_distribution_settings_mirror_everything():
    settings = Settings.from_env(
        {
            "REGISTRY_STORAGE": "inmemory",
            "REGISTRY_PROXY_REMOTEURL": "https://registry-1.docker.io/",
            "REGISTRY_PROXY_USERNAME": "bot",
            "REGISTRY_PROXY_PASSWORD": "secret",
            "REGISTRY_PROXY_TTL": "168h",
        }
    )
    (upstream,) = settings.proxy_upstreams
    assert (upstream.prefix, upstream.url, upstream.username) == (
        "",
        "https://registry-1.docker.io",
        "bot",
    )
    assert upstream.ttl == 168 * 3600
    assert upstream.down_backoff == 30  # the default
    assert "secret" not in repr(settings)
    assert settings.upstream_for("library/alpine") is upstream


def test_upstreams_by_longest_prefix():
    upstreams = [
        {"prefix": "library", "url": "http://hub.example"},
        {"prefix": "acme/", "url": "http://acme.example", "ttl": "30s"},
        {"prefix": "acme/team/", "url": "http://team.example"},
    ]
    settings = Settings.from_env(
        {"REGISTRY_STORAGE": "inmemory", "REGISTRY_PROXY_UPSTREAMS": json.dumps(upstreams)}
    )
    assert settings.upstream_for("library/app").url == "http://hub.example"
    assert settings.upstream_for("acme/app").ttl == 30
    assert settings.upstream_for("library/app").down_backoff == 30
    assert settings.upstream_for("acme/team/app").url == "http://team.example"
    assert settings.upstream_for("acmecorp/app") is None
    assert settings.upstream_for("other/app") is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REGISTRY_PROXY_REMOTEURL": "ftp://x"}, "REGISTRY_PROXY_REMOTEURL"),
        ({"REGISTRY_PROXY_REMOTEURL": "http://u:p@x"}, "REGISTRY_PROXY_REMOTEURL"),
        ({"REGISTRY_PROXY_REMOTEURL": "http://x", "REGISTRY_PROXY_TTL": "5"}, "REGISTRY_PROXY_TTL"),
        ({"REGISTRY_PROXY_USERNAME": "bot"}, "REGISTRY_PROXY_USERNAME"),
        (
            {"REGISTRY_PROXY_REMOTEURL": "http://x", "REGISTRY_PROXY_DOWN_BACKOFF": "soon"},
            "REGISTRY_PROXY_DOWN_BACKOFF",
        ),
        ({"REGISTRY_PROXY_DOWN_BACKOFF": "30"}, "REGISTRY_PROXY_DOWN_BACKOFF"),
        (
            {"REGISTRY_PROXY_UPSTREAMS": '[{"prefix": "a/", "url": "x:", "down_backoff": 5}]'},
            "REGISTRY_PROXY_UPSTREAMS: upstream 'a/': down_backoff",
        ),
        (
            {"REGISTRY_PROXY_REMOTEURL": "http://x", "REGISTRY_PROXY_USERNAME": "bot"},
            "REGISTRY_PROXY_USERNAME",
        ),
        ({"REGISTRY_PROXY_UPSTREAMS": "not json"}, "REGISTRY_PROXY_UPSTREAMS"),
        ({"REGISTRY_PROXY_UPSTREAMS": '[{"url": "http://x"}]'}, "REGISTRY_PROXY_UPSTREAMS"),
        (
            {"REGISTRY_PROXY_UPSTREAMS": '[{"prefix": "Acme/", "url": "http://x"}]'},
            "REGISTRY_PROXY_UPSTREAMS",
        ),
        (
            {"REGISTRY_PROXY_UPSTREAMS": '[{"prefix": "a/", "url": "http://x", "tll": "1m"}]'},
            "REGISTRY_PROXY_UPSTREAMS",
        ),
        (
            {
                "REGISTRY_PROXY_UPSTREAMS": '[{"prefix": "a", "url": "http://x"},'
                '{"prefix": "a/", "url": "http://y"}]'
            },
            "REGISTRY_PROXY_UPSTREAMS",
        ),
        (
            {
                "REGISTRY_PROXY_REMOTEURL": "http://x",
                "REGISTRY_PROXY_UPSTREAMS": '[{"prefix": "", "url": "http://y"}]',
            },
            "REGISTRY_PROXY_UPSTREAMS",
        ),
    ],
)
def test_bad_settings_stop_start_up_naming_the_setting(env, named):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REGISTRY_STORAGE": "inmemory", **env})
    assert any(p.startswith(named) for p in caught.value.problems), caught.value.problems
    assert "p@" not in str(caught.value) or "REMOTEURL" in named


def test_down_backoff_defaults_for_each_upstream_and_is_set_per_upstream():
    upstreams = [
        {"prefix": "acme/", "url": "http://acme.example", "down_backoff": "0"},
        {"prefix": "other/", "url": "http://other.example"},
    ]
    settings = Settings.from_env(
        {
            "REGISTRY_STORAGE": "inmemory",
            "REGISTRY_PROXY_REMOTEURL": "http://hub.example",
            "REGISTRY_PROXY_DOWN_BACKOFF": "2m",
            "REGISTRY_PROXY_UPSTREAMS": json.dumps(upstreams),
        }
    )
    assert [(u.prefix, u.down_backoff) for u in settings.proxy_upstreams] == [
        ("", 120.0),
        ("acme/", 0.0),
        ("other/", 120.0),
    ]


def test_config_file_proxy_section(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(
        "storage:\n  inmemory: {}\n"
        "proxy:\n  remoteurl: https://registry-1.docker.io\n  ttl: 10m\n  down_backoff: 1m\n"
        "  upstreams:\n    - prefix: acme/\n      url: http://acme.example\n"
        "      down_backoff: 5s\n"
    )
    resolved = configure({}, str(path))
    assert resolved.error is None and resolved.findings == []
    settings = resolved.settings
    assert [(u.prefix, u.url, u.ttl, u.down_backoff) for u in settings.proxy_upstreams] == [
        ("", "https://registry-1.docker.io", 600.0, 60.0),
        ("acme/", "http://acme.example", 600.0, 5.0),
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_dead_lease_is_taken_over_and_a_live_one_waited_for():
    driver, clock = InMemoryDriver(), Clock()
    digest = digest_bytes(b"blob")
    holder = FetchLeases(driver, dead_after=10, poll=0, monotonic=clock)
    lease = holder.take_or_wait(digest, lambda: False)
    assert lease is not None and lease.attempt == 0

    waiter = FetchLeases(driver, dead_after=10, poll=0, max_wait=5, monotonic=clock)
    polls = []

    def present() -> bool:  # the holder beats twice while the waiter polls, then dies
        polls.append(clock.now)
        clock.now += 1
        if len(polls) in (3, 6):
            lease._renewed = -100
            lease.renew()
        return False

    waiter.max_wait = 100
    taken = waiter.take_or_wait(digest, present)
    assert taken is not None and taken.attempt == 1
    assert clock.now >= 16  # waited out the beats, then dead_after
    taken.release()
    assert holder.take_or_wait(digest, lambda: False).attempt == 0


def test_a_waiter_returns_once_the_blob_is_committed():
    driver, clock = InMemoryDriver(), Clock()
    digest = digest_bytes(b"blob")
    FetchLeases(driver, monotonic=clock).take_or_wait(digest, lambda: False)
    answers = iter([False, False, True])
    assert (
        FetchLeases(driver, poll=0, monotonic=clock).take_or_wait(digest, lambda: next(answers))
        is None
    )


def test_an_upstream_is_down_for_the_backoff_after_its_latest_failure(caplog):
    clock = Clock()
    health = UpstreamHealth("http://hub.example", 30, clock)
    caplog.set_level(logging.INFO, logger="wharf_registry.proxy.health")
    assert not health.down and not health.use_cache()  # up: ask the upstream

    health.failed("ReadTimeout")
    assert health.down and health.use_cache()
    clock.now = 20
    health.failed("ConnectTimeout")  # a request with nothing cached asked, and failed
    clock.now = 49.9
    assert health.use_cache()  # 30 s after the latest failure, not the first
    clock.now = 50
    assert not health.use_cache()  # past the backoff: this caller asks...
    assert health.use_cache() and health.use_cache()  # ...the others keep the cache
    clock.now = 80
    assert not health.use_cache()  # that one never reported: another asks
    health.failed("answered 503")
    clock.now = 109
    assert health.use_cache()

    health.answered()  # any answer but 5xx: up
    assert not health.down and not health.use_cache()
    health.answered()
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        (
            "WARNING",
            "upstream http://hub.example is down (ReadTimeout): cached answers are served "
            "without asking it for 30s after each failure",
        ),
        ("INFO", "upstream http://hub.example answers again"),
    ]


def test_a_zero_backoff_never_marks_an_upstream_down(caplog):
    health = UpstreamHealth("http://hub.example", 0, Clock())
    health.failed("ConnectionError")
    assert not health.down and not health.use_cache()
    assert not caplog.records
