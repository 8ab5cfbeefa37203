"""Settings.from_env: defaults, driver params, and one ConfigError naming every bad variable."""

import pytest
from wharf_registry.settings import ConfigError, Settings


def test_defaults():
    s = Settings.from_env({})
    assert s.storage_driver == "filesystem"
    assert s.storage_params == {"rootdirectory": "/var/lib/registry"}
    assert (s.auth, s.log_level, s.log_format) == ("none", "INFO", "json")
    assert s.manifest_max_size == 4 * 1024 * 1024 and s.max_name_length == 255
    assert s.catalog_max_entries == 1000 and s.storage_redirect and not s.read_only
    assert s.http_host is None and s.location("/v2/x") == "/v2/x"


def test_driver_params_of_the_selected_driver_only():
    s = Settings.from_env({
        "REGISTRY_STORAGE": "s3", "REGISTRY_STORAGE_S3_BUCKET": "b",
        "REGISTRY_STORAGE_S3_ENDPOINT_URL": "http://x",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/d",
        "REGISTRY_STORAGE_REDIRECT_DISABLE": "true",
    })
    assert s.storage_params == {"bucket": "b", "endpoint_url": "http://x"}
    assert s.storage_redirect is False


def test_values():
    s = Settings.from_env({
        "REGISTRY_AUTH": "htpasswd", "REGISTRY_AUTH_HTPASSWD_PATH": "/etc/htpasswd",
        "REGISTRY_HTTP_HOST": "https://reg.example/", "REGISTRY_LOG_LEVEL": "debug",
        "REGISTRY_LOG_FORMAT": "text", "REGISTRY_VALIDATION_MANIFESTS_MAXSIZE": "1000",
        "REGISTRY_CATALOG_MAXENTRIES": "5", "REGISTRY_READONLY": "yes",
    })
    assert s.auth == "htpasswd" and s.htpasswd_path == "/etc/htpasswd"
    assert s.location("/v2/a") == "https://reg.example/v2/a"
    assert (s.log_level, s.log_format, s.manifest_max_size) == ("DEBUG", "text", 1000)
    assert s.catalog_max_entries == 5 and s.read_only


def test_every_problem_is_reported_with_its_variable():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({
            "REGISTRY_STORAGE": "floppy", "REGISTRY_AUTH": "htpasswd",
            "REGISTRY_HTTP_HOST": "reg.example", "REGISTRY_LOG_FORMAT": "xml",
            "REGISTRY_VALIDATION_MANIFESTS_MAXSIZE": "big", "REGISTRY_READONLY": "maybe",
            "REGISTRY_VALIDATION_NAME_MAXLENGTH": "300", "REGISTRY_CATALOG_MAXENTRIES": "0",
        })
    text = str(info.value)
    for name in ("REGISTRY_STORAGE:", "REGISTRY_AUTH_HTPASSWD_PATH", "REGISTRY_HTTP_HOST",
                 "REGISTRY_LOG_FORMAT", "REGISTRY_VALIDATION_MANIFESTS_MAXSIZE",
                 "REGISTRY_READONLY", "REGISTRY_VALIDATION_NAME_MAXLENGTH",
                 "REGISTRY_CATALOG_MAXENTRIES"):
        assert name in text
    assert len(info.value.problems) == 8


def test_token_auth_is_not_available_yet():
    with pytest.raises(ConfigError, match="REGISTRY_AUTH"):
        Settings.from_env({"REGISTRY_AUTH": "token"})
