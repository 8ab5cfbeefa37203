"""``wharf-index serve --config``: YAML key path -> INDEX_<SECTION>_<KEY>, INDEX_* wins.

Each case is an index.yml snippet and an environment, and the Settings fields (or the error,
or the reports) they must give; ``configure`` is what ``serve`` runs first.
"""

import io

import pytest
from wharf_index import cli

from tests.conftest import SECRET_KEY

DB = "postgresql://wharf@127.0.0.1:5432/wharf"
BASE = f"database:\n  url: {DB}\nsecret:\n  key: {SECRET_KEY}\n"

# (id, yaml, env, expected Settings fields)
CASES = [
    ("sections", BASE, {}, {"database_url": DB, "secret_key": SECRET_KEY}),
    ("flat keys", f"database_url: {DB}\nsecret_key: {SECRET_KEY}\n", {}, {"database_url": DB}),
    (
        "env beats file",
        BASE,
        {"INDEX_DATABASE_URL": "postgresql://o@h/o"},
        {"database_url": "postgresql://o@h/o"},
    ),
    (
        "env completes file",
        f"database:\n  url: {DB}\n",
        {"INDEX_SECRET_KEY": SECRET_KEY},
        {"secret_key": SECRET_KEY},
    ),
    (
        "log",
        BASE + "log:\n  level: debug\n  format: text\n",
        {},
        {"log_level": "DEBUG", "log_format": "text"},
    ),
    (
        "numbers",
        BASE + "token:\n  ttl: 600\ndb:\n  pool:\n    max: 7\n",
        {},
        {"token_ttl": 600, "db_pool_max": 7},
    ),
    (
        "bind and public url",
        BASE + "bind: 127.0.0.1:5001\npublic:\n  url: https://hub.example\n",
        {},
        {"bind": "127.0.0.1:5001", "public_url": "https://hub.example"},
    ),
    (
        "env bind",
        BASE + "bind: 127.0.0.1:5001\n",
        {"INDEX_BIND": "127.0.0.1:6001"},
        {"bind": "127.0.0.1:6001"},
    ),
    (
        "token algorithm",
        BASE + "token:\n  algorithm: RS256\n  ttl: 120\n",
        {},
        {"token_algorithm": "RS256", "token_ttl": 120},
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_config_file_and_overrides(tmp_path, yaml_text, env, expected):
    path = tmp_path / "index.yml"
    path.write_text(yaml_text)
    resolved = cli.configure(env, str(path))
    assert resolved.error is None, resolved.error
    assert resolved.findings == []
    for name, value in expected.items():
        assert getattr(resolved.settings, name) == value, name


ERRORS = [
    ("no database", f"secret:\n  key: {SECRET_KEY}\n", {}, "INDEX_DATABASE_URL: is required"),
    ("bad number", BASE + "token:\n  ttl: soon\n", {}, "INDEX_TOKEN_TTL: must be an integer"),
    (
        "both forms",
        BASE,
        {"INDEX_SECRET_KEY_FILE": "/dev/null"},
        "set either INDEX_SECRET_KEY or INDEX_SECRET_KEY_FILE",
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "env", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_bad_settings_are_one_error_naming_them(tmp_path, yaml_text, env, message):
    path = tmp_path / "index.yml"
    path.write_text(yaml_text)
    assert message in str(cli.configure(env, str(path)).error)


REPORTS = [
    (
        "misspelt key",
        BASE + "token:\n  tll: 60\n",
        {},
        [
            "token.tll in index.yml (INDEX_TOKEN_TLL): unknown setting, ignored; did you mean "
            "INDEX_TOKEN_TTL?"
        ],
    ),
    (
        "misspelt variable",
        BASE,
        {"INDEX_LOG_LEVLE": "debug"},
        ["INDEX_LOG_LEVLE: unknown setting, ignored; did you mean INDEX_LOG_LEVEL?"],
    ),
    (
        "unknown section",
        BASE + "proxy:\n  url: x\n",
        {},
        ["proxy.url in index.yml (INDEX_PROXY_URL): unknown setting, ignored"],
    ),
    ("harness and others", BASE, {"INDEX_TEST_DATABASE_URL": DB, "HOME": "/root"}, []),
    (
        "file form of a secret",
        f"database:\n  url: {DB}\n",
        {"INDEX_SECRET_KEY_FILE": "/dev/null"},
        [],
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "env", "findings"), [c[1:] for c in REPORTS], ids=[c[0] for c in REPORTS]
)
def test_unknown_settings_are_reported(tmp_path, yaml_text, env, findings):
    path = tmp_path / "index.yml"
    path.write_text(yaml_text)
    assert cli.configure(env, str(path)).findings == findings


def test_strict_serve_refuses_an_unknown_setting_before_starting(tmp_path):
    path = tmp_path / "index.yml"
    path.write_text(BASE + "token:\n  tll: 60\n")
    err = io.StringIO()
    code = cli.main(["serve", "--config", str(path), "--strict"], environ={}, stderr=err)
    assert code == 2
    assert err.getvalue().splitlines() == [
        "wharf-index: error: token.tll in index.yml (INDEX_TOKEN_TLL): unknown setting, "
        "ignored; did you mean INDEX_TOKEN_TTL?",
        "wharf-index: --strict: 1 unknown or unsupported setting(s)",
    ]


def test_an_unusable_file_is_named(tmp_path):
    path = tmp_path / "index.yml"
    path.write_text("database: [unclosed")
    err = io.StringIO()
    assert cli.main(["serve", "--config", str(path)], environ={}, stderr=err) == 2
    assert err.getvalue().startswith(f"wharf-index: {path}: not valid YAML")
