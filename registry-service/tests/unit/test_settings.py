"""Settings.from_env: defaults, driver params, and one ConfigError naming every bad variable."""

import json

import pytest
from wharf_protocol.keys import KeySet, SigningKey
from wharf_registry.settings import ConfigError, Settings

TOKEN_LOCAL = {
    "REGISTRY_AUTH": "token",
    "REGISTRY_AUTH_TOKEN_VERIFY": "local",
    "REGISTRY_INDEX_NAME": "reg1",
    "REGISTRY_AUTH_TOKEN_REALM": "https://tokens.example/token",
}


def test_defaults():
    s = Settings.from_env({})
    assert s.storage_driver == "filesystem"
    assert s.storage_params == {"rootdirectory": "/var/lib/registry"}
    assert (s.auth, s.log_level, s.log_format) == ("none", "INFO", "json")
    assert s.manifest_max_size == 4 * 1024 * 1024 and s.max_name_length == 255
    assert s.catalog_max_entries == 1000 and s.storage_redirect and not s.read_only
    assert s.http_host is None and s.location("/v2/x") == "/v2/x"


def test_driver_params_of_the_selected_driver_only():
    s = Settings.from_env(
        {
            "REGISTRY_STORAGE": "s3",
            "REGISTRY_STORAGE_S3_BUCKET": "b",
            "REGISTRY_STORAGE_S3_ENDPOINT_URL": "http://x",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/d",
            "REGISTRY_STORAGE_REDIRECT_DISABLE": "true",
        }
    )
    assert s.storage_params == {"bucket": "b", "endpoint_url": "http://x"}
    assert s.storage_redirect is False


def test_values():
    s = Settings.from_env(
        {
            "REGISTRY_AUTH": "htpasswd",
            "REGISTRY_AUTH_HTPASSWD_PATH": "/etc/htpasswd",
            "REGISTRY_HTTP_HOST": "https://reg.example/",
            "REGISTRY_LOG_LEVEL": "debug",
            "REGISTRY_LOG_FORMAT": "text",
            "REGISTRY_VALIDATION_MANIFESTS_MAXSIZE": "1000",
            "REGISTRY_CATALOG_MAXENTRIES": "5",
            "REGISTRY_READONLY": "yes",
        }
    )
    assert s.auth == "htpasswd" and s.htpasswd_path == "/etc/htpasswd"
    assert s.location("/v2/a") == "https://reg.example/v2/a"
    assert (s.log_level, s.log_format, s.manifest_max_size) == ("DEBUG", "text", 1000)
    assert s.catalog_max_entries == 5 and s.read_only


def test_every_problem_is_reported_with_its_variable():
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {
                "REGISTRY_STORAGE": "floppy",
                "REGISTRY_AUTH": "htpasswd",
                "REGISTRY_HTTP_HOST": "reg.example",
                "REGISTRY_LOG_FORMAT": "xml",
                "REGISTRY_VALIDATION_MANIFESTS_MAXSIZE": "big",
                "REGISTRY_READONLY": "maybe",
                "REGISTRY_VALIDATION_NAME_MAXLENGTH": "300",
                "REGISTRY_CATALOG_MAXENTRIES": "0",
            }
        )
    text = str(info.value)
    for name in (
        "REGISTRY_STORAGE:",
        "REGISTRY_AUTH_HTPASSWD_PATH",
        "REGISTRY_HTTP_HOST",
        "REGISTRY_LOG_FORMAT",
        "REGISTRY_VALIDATION_MANIFESTS_MAXSIZE",
        "REGISTRY_READONLY",
        "REGISTRY_VALIDATION_NAME_MAXLENGTH",
        "REGISTRY_CATALOG_MAXENTRIES",
    ):
        assert name in text
    assert len(info.value.problems) == 8


def test_the_readiness_cache_is_seconds_from_0_to_300():
    assert Settings.from_env({}).readyz_cache == 5
    assert Settings.from_env({"REGISTRY_READYZ_CACHE": "0"}).readyz_cache == 0
    for bad in ("-1", "301", "soon"):
        with pytest.raises(ConfigError, match="REGISTRY_READYZ_CACHE"):
            Settings.from_env({"REGISTRY_READYZ_CACHE": bad})


def test_token_mode_requires_the_index_connection():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"REGISTRY_AUTH": "token"})
    text = str(info.value)
    for name in ("REGISTRY_INDEX_URL", "REGISTRY_INDEX_NAME", "REGISTRY_INDEX_CREDENTIAL"):
        assert f"{name}: required when REGISTRY_AUTH=token" in text
    with pytest.raises(ConfigError, match=r"REGISTRY_AUTH_TOKEN_JWKS \(or _ROOTCERTBUNDLE\)"):
        Settings.from_env(
            {
                "REGISTRY_AUTH": "token",
                "REGISTRY_AUTH_TOKEN_VERIFY": "local",
                "REGISTRY_INDEX_NAME": "reg1",
                "REGISTRY_AUTH_TOKEN_REALM": "https://index/v2/token",
            }
        )


def test_token_mode_defaults_derive_from_the_index():
    s = Settings.from_env(
        {
            "REGISTRY_AUTH": "token",
            "REGISTRY_INDEX_URL": "http://index:5001/",
            "REGISTRY_INDEX_NAME": "reg1",
            "REGISTRY_INDEX_CREDENTIAL": "secret-cred",
        }
    )
    assert s.index_url == "http://index:5001"
    assert (s.token_realm, s.token_service) == ("http://index:5001/v2/token", "reg1")
    assert (s.token_issuer, s.token_verify) == ("wharf-index", "remote")
    assert s.token_jwks == "http://index:5001/.well-known/jwks.json"
    assert s.token_rootcertbundle is None
    assert (s.token_cache_ttl, s.token_leeway) == (30, 60)
    assert (s.token_cache_size, s.token_confirm) == (10_000, "sync")
    assert s.notifications_enabled is True
    assert (s.notifications_batch, s.notifications_interval) == (100, 1.0)
    assert s.notifications_max_backoff == 60.0
    assert "secret-cred" not in repr(s)


def test_token_and_notification_values(tmp_path):
    cred = tmp_path / "cred"
    cred.write_text("from-a-file\n")
    bundle = tmp_path / "certs.pem"
    bundle.write_bytes(KeySet([SigningKey.generate().public]).pem_bundle())
    s = Settings.from_env(
        {
            "REGISTRY_AUTH": "token",
            "REGISTRY_AUTH_TOKEN_VERIFY": "local",
            "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": str(bundle),
            "REGISTRY_AUTH_TOKEN_JWKS": "https://tokens.example/keys.json",
            "REGISTRY_INDEX_NAME": "reg1",
            "REGISTRY_INDEX_URL": "http://index",
            "REGISTRY_INDEX_CREDENTIAL_FILE": str(cred),
            "REGISTRY_AUTH_TOKEN_REALM": "https://public.example/v2/token",
            "REGISTRY_AUTH_TOKEN_SERVICE": "registry.example",
            "REGISTRY_AUTH_TOKEN_LEEWAY": "0",
            "REGISTRY_AUTH_TOKEN_CACHE_TTL": "5",
            "REGISTRY_NOTIFICATIONS_ENABLED": "false",
            "REGISTRY_NOTIFICATIONS_INTERVAL": "0.5",
            "REGISTRY_NOTIFICATIONS_BATCH": "10",
        }
    )
    assert s.token_rootcertbundle == str(bundle) and s.index_credential == "from-a-file"
    assert s.token_jwks == "https://tokens.example/keys.json"
    assert (s.token_realm, s.token_service) == (
        "https://public.example/v2/token",
        "registry.example",
    )
    assert (s.token_leeway, s.token_cache_ttl) == (0, 5)
    assert s.notifications_enabled is False
    assert (s.notifications_interval, s.notifications_batch) == (0.5, 10)


def test_bad_index_variables_are_named():
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {
                "REGISTRY_AUTH": "token",
                "REGISTRY_AUTH_TOKEN_VERIFY": "maybe",
                "REGISTRY_INDEX_URL": "index:5001",
                "REGISTRY_INDEX_NAME": "reg1",
                "REGISTRY_INDEX_CREDENTIAL_FILE": "/nonexistent/cred",
                "REGISTRY_AUTH_TOKEN_LEEWAY": "-1",
                "REGISTRY_NOTIFICATIONS_INTERVAL": "0",
                "REGISTRY_NOTIFICATIONS_MAXBACKOFF": "soon",
            }
        )
    problems = info.value.problems
    for name in (
        "REGISTRY_AUTH_TOKEN_VERIFY:",
        "REGISTRY_INDEX_URL:",
        "REGISTRY_INDEX_CREDENTIAL_FILE:",
        "REGISTRY_AUTH_TOKEN_LEEWAY:",
        "REGISTRY_NOTIFICATIONS_INTERVAL:",
        "REGISTRY_NOTIFICATIONS_MAXBACKOFF:",
    ):
        assert sum(p.startswith(name) for p in problems) == 1, (name, problems)
    assert len(problems) == 6, problems


REMOTE_TOKEN = {
    "REGISTRY_AUTH": "token",
    "REGISTRY_INDEX_URL": "http://index:5001",
    "REGISTRY_INDEX_NAME": "reg1",
    "REGISTRY_INDEX_CREDENTIAL": "cred",
}


def test_token_cache_size_and_confirmation_mode():
    s = Settings.from_env(
        {
            **REMOTE_TOKEN,
            "REGISTRY_AUTH_TOKEN_CACHE_SIZE": "500",
            "REGISTRY_AUTH_TOKEN_CONFIRM": "ASYNC",
        }
    )
    assert (s.token_cache_size, s.token_confirm) == (500, "async")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"REGISTRY_AUTH_TOKEN_CONFIRM": "later"}, "REGISTRY_AUTH_TOKEN_CONFIRM: 'later' is not"),
        ({"REGISTRY_AUTH_TOKEN_CACHE_SIZE": "big"}, "REGISTRY_AUTH_TOKEN_CACHE_SIZE: 'big' is not"),
        ({"REGISTRY_AUTH_TOKEN_CACHE_SIZE": "0"}, "REGISTRY_AUTH_TOKEN_CACHE_SIZE: 0 must be"),
        (
            {
                **TOKEN_LOCAL,
                "REGISTRY_AUTH_TOKEN_JWKS": "https://t.example/jwks.json",
                "REGISTRY_AUTH_TOKEN_CONFIRM": "async",
            },
            "REGISTRY_AUTH_TOKEN_CONFIRM: async needs REGISTRY_AUTH_TOKEN_VERIFY=remote",
        ),
    ],
    ids=["confirm-unknown", "size-not-a-number", "size-zero", "async-with-local"],
)
def test_bad_token_cache_settings_are_named(variables, expected):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**REMOTE_TOKEN, **variables})
    assert [p for p in info.value.problems if p.startswith(expected)], info.value.problems
    assert len(info.value.problems) == 1, info.value.problems


def test_notifications_need_the_index_connection():
    with pytest.raises(
        ConfigError,
        match="REGISTRY_INDEX_CREDENTIAL: required when REGISTRY_NOTIFICATIONS_ENABLED=true",
    ):
        Settings.from_env({"REGISTRY_INDEX_URL": "http://index", "REGISTRY_INDEX_NAME": "r"})
    assert Settings.from_env({}).notifications_enabled is False


def test_pull_flush_settings():
    assert (
        Settings.from_env({}).events_pull_flush_interval,
        Settings().events_pull_flush_keys,
    ) == (
        1.0,
        500,
    )
    s = Settings.from_env(
        {"REGISTRY_EVENTS_PULL_FLUSH_INTERVAL": "0.25", "REGISTRY_EVENTS_PULL_FLUSH_KEYS": "1000"}
    )
    assert (s.events_pull_flush_interval, s.events_pull_flush_keys) == (0.25, 1000)
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {"REGISTRY_EVENTS_PULL_FLUSH_INTERVAL": "0", "REGISTRY_EVENTS_PULL_FLUSH_KEYS": "1001"}
        )
    assert [p.split(":")[0] for p in info.value.problems] == [
        "REGISTRY_EVENTS_PULL_FLUSH_INTERVAL",
        "REGISTRY_EVENTS_PULL_FLUSH_KEYS",
    ]


def test_http_timeouts():
    assert (Settings.from_env({}).http_header_timeout, Settings().http_body_timeout) == (20, 60)
    s = Settings.from_env({"REGISTRY_HTTP_HEADER_TIMEOUT": "5", "REGISTRY_HTTP_BODY_TIMEOUT": "7"})
    assert (s.http_header_timeout, s.http_body_timeout) == (5, 7)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REGISTRY_HTTP_HEADER_TIMEOUT": "0"})
    assert [p.split(":")[0] for p in caught.value.problems] == ["REGISTRY_HTTP_HEADER_TIMEOUT"]


def test_the_gunicorn_config_serves_with_the_settings_timeouts(monkeypatch):
    """gunicorn_conf builds its worker class from Settings (the timeouts, the error shape)."""
    import importlib

    from wharf_registry import gunicorn_conf

    monkeypatch.setenv("REGISTRY_HTTP_HEADER_TIMEOUT", "9")
    monkeypatch.setenv("REGISTRY_HTTP_BODY_TIMEOUT", "11")
    conf = importlib.reload(gunicorn_conf)
    try:
        assert (conf.worker_class.header_timeout, conf.worker_class.io_timeout) == (9.0, 11.0)
        assert conf.worker_class.error_body(414, "too long") == {
            "errors": [{"code": "UNKNOWN", "message": "too long"}]
        }
        assert conf.limit_request_line == 8190
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)


def test_the_old_shared_token_keys_setting_stops_start_up():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"REGISTRY_AUTH_TOKEN_KEYS": "a-shared-secret"})
    (problem,) = info.value.problems
    assert problem.startswith("REGISTRY_AUTH_TOKEN_KEYS: no longer supported")
    assert "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE or REGISTRY_AUTH_TOKEN_JWKS" in problem
    assert "a-shared-secret" not in problem


def test_key_files_are_read_at_start_up_and_hold_public_keys_only(tmp_path):
    key = SigningKey.generate()
    private = tmp_path / "private.pem"
    private.write_bytes(key.private_pem() + key.certificate_pem())
    private_jwk = tmp_path / "private-jwks.json"
    private_jwk.write_text(json.dumps({"keys": [{**key.public.jwk(), "d": "c2VjcmV0"}]}))
    cases = {
        "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": [
            (tmp_path / "missing.pem", "cannot use"),
            (private, "holds a private key"),  # even next to its certificate
        ],
        "REGISTRY_AUTH_TOKEN_JWKS": [
            (tmp_path / "missing.json", "cannot use"),
            (private, "cannot use"),
            (private_jwk, "holds a private key"),
        ],
    }
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keys": []}))
    cases["REGISTRY_AUTH_TOKEN_JWKS"].append((empty, "holds no ES256 or RS256 public key"))
    for name, files in cases.items():
        for path, message in files:
            with pytest.raises(ConfigError) as info:
                Settings.from_env({**TOKEN_LOCAL, name: str(path)})
            (problem,) = info.value.problems
            assert problem.startswith(f"{name}: ") and message in problem, problem
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeySet([key.public]).jwks()))
    s = Settings.from_env({**TOKEN_LOCAL, "REGISTRY_AUTH_TOKEN_JWKS": str(jwks)})
    assert s.token_jwks == str(jwks) and s.token_rootcertbundle is None
    with pytest.raises(ConfigError, match="REGISTRY_AUTH_TOKEN_JWKS: .* not an http"):
        Settings.from_env({**TOKEN_LOCAL, "REGISTRY_AUTH_TOKEN_JWKS": "https://"})


def test_tls_settings_load_their_files(tmp_path):
    from wharf_testing.tls import make_tls

    tls = make_tls(tmp_path)
    s = Settings.from_env(
        {
            **tls.requiring_client_cert().env("REGISTRY_HTTP_TLS"),
            "REGISTRY_INDEX_TLS_CA": tls.ca,
            "REGISTRY_INDEX_TLS_CERTIFICATE": tls.client.certificate,
            "REGISTRY_INDEX_TLS_KEY": tls.client.key,
        }
    )
    assert (s.http_tls.certificate, s.http_tls.key) == (tls.server.certificate, tls.server.key)
    assert s.http_tls.client_cas == (tls.ca,)
    assert (s.index_tls_ca, s.index_tls_certificate) == (tls.ca, tls.client.certificate)
    assert Settings.from_env({}).http_tls is None


def test_bad_tls_settings_are_named(tmp_path):
    from wharf_testing.tls import make_tls

    tls = make_tls(tmp_path)
    cases = {
        "REGISTRY_HTTP_TLS_KEY": {"REGISTRY_HTTP_TLS_CERTIFICATE": tls.server.certificate},
        "REGISTRY_HTTP_TLS_CERTIFICATE": {
            "REGISTRY_HTTP_TLS_CERTIFICATE": str(tmp_path / "missing.crt"),
            "REGISTRY_HTTP_TLS_KEY": tls.server.key,
        },
        "REGISTRY_HTTP_TLS_CLIENTCAS": {
            **tls.env("REGISTRY_HTTP_TLS"),
            "REGISTRY_HTTP_TLS_CLIENTCAS": f"{tls.ca},{tls.server.key}",
        },
        "REGISTRY_INDEX_TLS_CA": {"REGISTRY_INDEX_TLS_CA": tls.client.key},
        "REGISTRY_INDEX_TLS_CERTIFICATE": {"REGISTRY_INDEX_TLS_KEY": tls.client.key},
    }
    for name, env in cases.items():
        with pytest.raises(ConfigError) as caught:
            Settings.from_env(env)
        assert [p.split(":")[0] for p in caught.value.problems] == [name], env
    with pytest.raises(ConfigError) as caught:  # a key that is not the certificate's
        Settings.from_env(
            {
                "REGISTRY_HTTP_TLS_CERTIFICATE": tls.server.certificate,
                "REGISTRY_HTTP_TLS_KEY": tls.client.key,
            }
        )
    assert caught.value.problems[0].startswith("REGISTRY_HTTP_TLS_KEY: ")


def test_the_gunicorn_config_serves_tls_with_the_settings_files(monkeypatch, tmp_path):
    import importlib
    import ssl

    from wharf_registry import gunicorn_conf
    from wharf_testing.tls import make_tls

    tls = make_tls(tmp_path).requiring_client_cert()
    for name, value in tls.env("REGISTRY_HTTP_TLS").items():
        monkeypatch.setenv(name, value)
    conf = importlib.reload(gunicorn_conf)
    try:
        assert (conf.certfile, conf.keyfile) == (tls.server.certificate, tls.server.key)
        context = conf.ssl_context(None, None)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)


def test_index_clients_carry_the_index_tls_settings():
    from wharf_registry.app import _events_client, _verify_client, index_tls

    assert index_tls(Settings()) == {"verify": True, "cert": None}
    s = Settings(
        index_url="https://index.test",
        index_name="reg",
        index_credential="cred",
        index_tls_ca="/etc/ca.pem",
        index_tls_certificate="c.pem",
        index_tls_key="k.pem",
    )
    expected = {"verify": "/etc/ca.pem", "cert": ("c.pem", "k.pem")}
    for client in (_verify_client(s), _events_client(s)):
        assert client._tls == expected
        client.close()


def test_trusted_proxies():
    assert Settings.from_env({}).trusted_proxies == 0
    assert Settings.from_env({"REGISTRY_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="REGISTRY_TRUSTED_PROXIES"):
        Settings.from_env({"REGISTRY_TRUSTED_PROXIES": "-1"})


def test_allowed_networks():
    assert Settings.from_env({}).allowed_networks == ()
    parsed = Settings.from_env(
        {"REGISTRY_ALLOWED_NETWORKS": " 10.0.0.0/8, 2001:db8::/32,192.0.2.7 "}
    )
    assert [str(n) for n in parsed.allowed_networks] == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.7/32",
    ]
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"REGISTRY_ALLOWED_NETWORKS": "10.0.0.1/8,example.org,10.0.0.0/8"})
    problems = refused.value.problems
    assert len(problems) == 2 and all(p.startswith("REGISTRY_ALLOWED_NETWORKS: ") for p in problems)
    assert "'10.0.0.1/8'" in problems[0] and "host bits set" in problems[0]
    assert "'example.org'" in problems[1]
