"""Settings.from_env: defaults, every bad variable named, *_FILE secrets, key derivation."""

from __future__ import annotations

import ipaddress

import pytest
from wharf_index.domain.pull_limits import Rate
from wharf_index.services.config import ServiceConfig
from wharf_index.settings import ConfigError, Settings, derive_token_key

BASE = {"INDEX_DATABASE_URL": "postgresql://wharf@db:5432/wharf", "INDEX_SECRET_KEY": "s" * 32}


def test_defaults():
    settings = Settings.from_env(BASE)
    assert settings.token_issuer == "wharf-index"
    assert settings.token_ttl == 300
    assert settings.token_leeway == 60
    assert settings.public_url == "http://127.0.0.1:5001"
    assert settings.default_visibility == "private"
    assert settings.log_format == "json"
    assert settings.token_algorithm == "ES256"


def test_only_database_url_and_secret_key_are_required():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    assert set(caught.value.problems) == {"INDEX_DATABASE_URL", "INDEX_SECRET_KEY"}
    assert "INDEX_DATABASE_URL: is required" in str(caught.value)


def test_every_bad_variable_is_named_at_once():
    env = dict(
        BASE,
        INDEX_DATABASE_URL="mysql://x/y",
        INDEX_TOKEN_TTL="soon",
        INDEX_TOKEN_LEEWAY="-1",
        INDEX_DEFAULT_VISIBILITY="secret",
        INDEX_LOG_FORMAT="xml",
        INDEX_PUBLIC_URL="ftp://x",
        INDEX_BIND="nohost",
        INDEX_PASSWORD_SCRYPT_N="3000",
    )
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert set(caught.value.problems) == {
        "INDEX_DATABASE_URL",
        "INDEX_TOKEN_TTL",
        "INDEX_TOKEN_LEEWAY",
        "INDEX_DEFAULT_VISIBILITY",
        "INDEX_LOG_FORMAT",
        "INDEX_PUBLIC_URL",
        "INDEX_BIND",
        "INDEX_PASSWORD_SCRYPT_N",
    }


def test_short_secret_key_is_refused():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_SECRET_KEY="short"))
    assert "INDEX_SECRET_KEY" in caught.value.problems


@pytest.mark.parametrize("name", ["INDEX_TOKEN_KEYS", "INDEX_TOKEN_KEYS_FILE"])
def test_the_removed_token_keys_setting_stops_start_up(name):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, **{name: "old-key-0123456789"}))
    problem = caught.value.problems[name]
    assert "database" in problem and "wharf-index keys rotate" in problem


def test_token_algorithm_is_es256_or_rs256():
    assert Settings.from_env(dict(BASE, INDEX_TOKEN_ALGORITHM="rs256")).token_algorithm == "RS256"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_TOKEN_ALGORITHM="HS256"))
    assert "INDEX_TOKEN_ALGORITHM" in caught.value.problems


def test_the_refresh_token_key_is_derived_from_the_secret_key():
    assert derive_token_key("s" * 32) == derive_token_key("s" * 32) != derive_token_key("t" * 32)
    assert "s" * 32 not in derive_token_key("s" * 32)


def test_pool_min_above_max_is_refused():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_DB_POOL_MIN="5", INDEX_DB_POOL_MAX="2"))
    assert "INDEX_DB_POOL_MIN" in caught.value.problems


def test_secret_from_file(tmp_path):
    path = tmp_path / "secret"
    path.write_text("from-a-file-0123456789\n")
    env = {"INDEX_DATABASE_URL": BASE["INDEX_DATABASE_URL"], "INDEX_SECRET_KEY_FILE": str(path)}
    assert Settings.from_env(env).secret_key == "from-a-file-0123456789"


def test_secret_and_file_together_is_an_error(tmp_path):
    path = tmp_path / "secret"
    path.write_text("x" * 20)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_SECRET_KEY_FILE=str(path)))
    assert "INDEX_SECRET_KEY" in caught.value.problems


def test_missing_secret_file_is_named(tmp_path):
    env = {
        "INDEX_DATABASE_URL": BASE["INDEX_DATABASE_URL"],
        "INDEX_SECRET_KEY_FILE": str(tmp_path / "nope"),
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert "INDEX_SECRET_KEY_FILE" in caught.value.problems


def test_repr_hides_secrets():
    settings = Settings.from_env(dict(BASE, INDEX_DATABASE_URL="postgresql://u:pw@h/db"))
    text = repr(settings)
    assert "s" * 32 not in text and "pw@" not in text


def test_case_is_normalised_for_levels_and_formats():
    settings = Settings.from_env(dict(BASE, INDEX_LOG_LEVEL="debug", INDEX_LOG_FORMAT="TEXT"))
    assert (settings.log_level, settings.log_format) == ("DEBUG", "text")


def test_database_bounds_and_housekeeping_settings():
    settings = Settings.from_env(BASE)
    assert (settings.db_response_timeout, settings.db_token_response_timeout) == (5, 2)
    assert (settings.prune_interval, settings.event_retention, settings.prune_batch) == (
        3600,
        7 * 24 * 3600,
        1000,
    )
    custom = Settings.from_env(
        dict(
            BASE,
            INDEX_DB_RESPONSE_TIMEOUT="10",
            INDEX_DB_TOKEN_RESPONSE_TIMEOUT="1",
            INDEX_PRUNE_INTERVAL="0",
            INDEX_EVENT_RETENTION="86400",
            INDEX_PRUNE_BATCH="50",
        )
    )
    assert (custom.db_response_timeout, custom.db_token_response_timeout) == (10, 1)
    assert (custom.prune_interval, custom.event_retention, custom.prune_batch) == (0, 86400, 50)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            dict(
                BASE,
                INDEX_DB_RESPONSE_TIMEOUT="0",
                INDEX_DB_TOKEN_RESPONSE_TIMEOUT="soon",
                INDEX_EVENT_RETENTION="60",
                INDEX_PRUNE_BATCH="0",
            )
        )
    assert set(caught.value.problems) == {
        "INDEX_DB_RESPONSE_TIMEOUT",
        "INDEX_DB_TOKEN_RESPONSE_TIMEOUT",
        "INDEX_EVENT_RETENTION",
        "INDEX_PRUNE_BATCH",
    }


def test_http_timeouts():
    settings = Settings.from_env(BASE)
    assert (settings.http_header_timeout, settings.http_body_timeout) == (20, 60)
    settings = Settings.from_env(
        {**BASE, "INDEX_HTTP_HEADER_TIMEOUT": "5", "INDEX_HTTP_BODY_TIMEOUT": "7"}
    )
    assert (settings.http_header_timeout, settings.http_body_timeout) == (5, 7)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {**BASE, "INDEX_HTTP_HEADER_TIMEOUT": "0", "INDEX_HTTP_BODY_TIMEOUT": "soon"}
        )
    assert set(caught.value.problems) == {"INDEX_HTTP_HEADER_TIMEOUT", "INDEX_HTTP_BODY_TIMEOUT"}


def test_the_gunicorn_config_serves_with_the_settings_timeouts(monkeypatch):
    """gunicorn_conf builds its worker class from Settings, with the Index's error shape."""
    import importlib

    from wharf_index import gunicorn_conf

    for name, value in {
        **BASE,
        "INDEX_HTTP_HEADER_TIMEOUT": "9",
        "INDEX_HTTP_BODY_TIMEOUT": "11",
    }.items():
        monkeypatch.setenv(name, value)
    conf = importlib.reload(gunicorn_conf)
    try:
        assert (conf.worker_class.header_timeout, conf.worker_class.io_timeout) == (9.0, 11.0)
        assert conf.worker_class.error_body(431, "too large") == {
            "error": {"code": "HEADERS_TOO_LARGE", "message": "too large"}
        }
        assert conf.control_socket_disable is True
        assert conf.limit_request_line == 8190
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)


def test_tls_settings(tmp_path):
    from wharf_testing.tls import make_tls

    tls = make_tls(tmp_path)
    s = Settings.from_env(
        {
            **BASE,
            **tls.requiring_client_cert().env("INDEX_HTTP_TLS"),
            "INDEX_REGISTRY_TLS_CA": tls.ca,
        }
    )
    assert (s.http_tls.certificate, s.http_tls.client_cas) == (tls.server.certificate, (tls.ca,))
    assert s.registry_tls_ca == tls.ca
    assert (Settings.from_env(BASE).http_tls, Settings.from_env(BASE).registry_tls_ca) == (
        None,
        None,
    )
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                **BASE,
                "INDEX_HTTP_TLS_KEY": tls.server.key,
                "INDEX_REGISTRY_TLS_CA": str(tmp_path / "missing.pem"),
            }
        )
    assert set(caught.value.problems) == {"INDEX_HTTP_TLS_CERTIFICATE", "INDEX_REGISTRY_TLS_CA"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "INDEX_HTTP_TLS_CLIENTCAS": tls.ca})
    assert set(caught.value.problems) == {"INDEX_HTTP_TLS_CLIENTCAS"}


def test_webhook_settings():
    settings = Settings.from_env(BASE)
    assert settings.webhook_allowed_networks == ()
    assert settings.webhook_delivery_retention == 30 * 24 * 3600
    custom = Settings.from_env(
        {
            **BASE,
            "INDEX_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8, fd00::/8",
            "INDEX_WEBHOOK_DELIVERY_RETENTION": "86400",
        }
    )
    assert custom.webhook_allowed_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert custom.webhook_delivery_retention == 86400
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                **BASE,
                "INDEX_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8,intranet",
                "INDEX_WEBHOOK_DELIVERY_RETENTION": "60",
            }
        )
    assert set(caught.value.problems) == {
        "INDEX_WEBHOOK_ALLOWED_NETWORKS",
        "INDEX_WEBHOOK_DELIVERY_RETENTION",
    }
    assert "'intranet'" in caught.value.problems["INDEX_WEBHOOK_ALLOWED_NETWORKS"]


WEBHOOK_DEFAULTS = {
    "webhook_allowed_networks": (),
    "webhook_connect_timeout": 5,
    "webhook_timeout": 10,
    "webhook_max_age": 86400,
    "webhook_retry_base": 2,
    "webhook_retry_max": 3600,
    "webhook_max_failures": 20,
    "webhook_follow_redirects": 0,
    "webhook_worker_threads": 4,
}


def test_webhook_worker_settings_defaults_and_values():
    defaults = Settings.from_env(BASE)
    assert {name: getattr(defaults, name) for name in WEBHOOK_DEFAULTS} == WEBHOOK_DEFAULTS
    settings = Settings.from_env(
        dict(
            BASE,
            INDEX_WEBHOOK_ALLOWED_NETWORKS=" 10.0.0.0/8, fd00::/8 ,",
            INDEX_WEBHOOK_CONNECT_TIMEOUT="2",
            INDEX_WEBHOOK_TIMEOUT="30",
            INDEX_WEBHOOK_MAX_AGE="3600",
            INDEX_WEBHOOK_RETRY_BASE="1",
            INDEX_WEBHOOK_RETRY_MAX="600",
            INDEX_WEBHOOK_MAX_FAILURES="5",
            INDEX_WEBHOOK_FOLLOW_REDIRECTS="3",
            INDEX_WEBHOOK_WORKER_THREADS="16",
        )
    )
    assert [str(n) for n in settings.webhook_allowed_networks] == ["10.0.0.0/8", "fd00::/8"]
    assert (
        settings.webhook_connect_timeout,
        settings.webhook_timeout,
        settings.webhook_max_age,
        settings.webhook_retry_base,
        settings.webhook_retry_max,
        settings.webhook_max_failures,
        settings.webhook_follow_redirects,
        settings.webhook_worker_threads,
    ) == (2, 30, 3600, 1, 600, 5, 3, 16)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INDEX_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8,intranet", "'intranet' is not a network"),
        ("INDEX_WEBHOOK_CONNECT_TIMEOUT", "0", "must be >= 1"),
        ("INDEX_WEBHOOK_TIMEOUT", "ten", "must be an integer"),
        ("INDEX_WEBHOOK_MAX_AGE", "59", "must be >= 60"),
        ("INDEX_WEBHOOK_RETRY_BASE", "0", "must be >= 1"),
        ("INDEX_WEBHOOK_RETRY_MAX", "1.5", "must be an integer"),
        ("INDEX_WEBHOOK_MAX_FAILURES", "0", "must be >= 1"),
        ("INDEX_WEBHOOK_FOLLOW_REDIRECTS", "-1", "must be >= 0"),
        ("INDEX_WEBHOOK_WORKER_THREADS", "0", "must be >= 1"),
    ],
)
def test_bad_webhook_settings_are_named(name, value, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, **{name: value}))
    assert set(caught.value.problems) == {name}
    assert message in caught.value.problems[name]


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        ("INDEX_WEBHOOK_CONNECT_TIMEOUT", "INDEX_WEBHOOK_TIMEOUT"),
        ("INDEX_WEBHOOK_RETRY_BASE", "INDEX_WEBHOOK_RETRY_MAX"),
    ],
)
def test_webhook_bounds_must_be_ordered(smaller, larger):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, **{smaller: "20", larger: "10"}))
    assert caught.value.problems == {smaller: f"must not exceed {larger}"}
    assert Settings.from_env(dict(BASE, **{smaller: "10", larger: "10"}))


def test_pull_limits_are_off_by_default_and_parsed_once():
    off = Settings.from_env(BASE)
    assert off.pull_limit_anonymous is None and off.pull_limit_authenticated is None
    assert not ServiceConfig.from_settings(off).pull_limits.on
    on = Settings.from_env(
        dict(
            BASE,
            INDEX_PULL_LIMIT_ANONYMOUS="100/6h",
            INDEX_PULL_LIMIT_AUTHENTICATED=" 200 / 21600 ",
            INDEX_PULL_LIMIT_EXEMPT="ci, bob,,ci",
        )
    )
    assert on.pull_limit_anonymous == Rate(100, 21600)
    assert on.pull_limit_authenticated == Rate(200, 21600)
    assert on.pull_limit_exempt == ("bob", "ci")
    limits = ServiceConfig.from_settings(on).pull_limits
    assert limits.on and limits.exempt == {"bob", "ci"}
    assert Settings.from_env(dict(BASE, INDEX_PULL_LIMIT_ANONYMOUS="10/m")).pull_limit_anonymous
    assert Settings.from_env(dict(BASE, INDEX_PULL_LIMIT_ANONYMOUS="")).pull_limit_anonymous is None


@pytest.mark.parametrize("value", ["100", "100/", "x/6h", "0/6h", "100/0s", "100/6w", "-1/h"])
def test_bad_pull_limits_are_named(value):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_PULL_LIMIT_AUTHENTICATED=value))
    assert set(caught.value.problems) == {"INDEX_PULL_LIMIT_AUTHENTICATED"}
    assert repr(value) in caught.value.problems["INDEX_PULL_LIMIT_AUTHENTICATED"]


def test_the_default_namespace_quota_is_a_size_or_none():
    assert Settings.from_env(BASE).default_namespace_quota is None
    quota = Settings.from_env(dict(BASE, INDEX_DEFAULT_NAMESPACE_QUOTA="10GiB"))
    assert quota.default_namespace_quota == 10 << 30
    none = Settings.from_env(dict(BASE, INDEX_DEFAULT_NAMESPACE_QUOTA="none"))
    assert none.default_namespace_quota is None
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_DEFAULT_NAMESPACE_QUOTA="10 gigs"))
    assert "is not a size" in caught.value.problems["INDEX_DEFAULT_NAMESPACE_QUOTA"]


def test_signup_is_closed_unless_set_and_a_bad_value_is_named():
    assert Settings.from_env(BASE).signup == "closed"
    for value in ("closed", "invite", "open", " OPEN "):
        assert Settings.from_env(dict(BASE, INDEX_SIGNUP=value)).signup == value.strip().lower()
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(dict(BASE, INDEX_SIGNUP="everyone"))
    assert set(caught.value.problems) == {"INDEX_SIGNUP"}
    assert "closed, invite, open" in str(caught.value)
