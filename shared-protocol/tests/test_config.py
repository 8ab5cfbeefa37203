"""wharf_protocol.config: YAML -> variables, env over file, dialects, unknown names, reports."""

import io
import json
from collections.abc import Mapping

import pytest
from wharf_protocol.config import (
    ConfigFileError,
    Dialect,
    RecordingEnv,
    flatten,
    load_file,
    report,
    resolve,
    scan,
)


class ToyError(ValueError):
    pass


def toy_parse(env: Mapping[str, str]) -> dict[str, object]:
    """A parser in the services' style: reads names, scans one prefix, raises ValueError."""
    level = env.get("APP_LOG_LEVEL", "info")
    if level not in ("debug", "info"):
        raise ToyError(f"APP_LOG_LEVEL: {level!r} is not debug or info")
    return {
        "level": level,
        "root": env.get("APP_STORAGE_ROOT"),
        "key": env.get("APP_SECRET_KEY") or env.get("APP_SECRET_KEY_FILE"),
        "params": scan(env, "APP_DRIVER_"),
    }


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"log": {"level": "debug"}}, {"APP_LOG_LEVEL": "debug"}),
        ({"storage": {"delete": {"enabled": False}}}, {"APP_STORAGE_DELETE_ENABLED": "false"}),
        ({"secret_key": "abc"}, {"APP_SECRET_KEY": "abc"}),
        (
            {"http": {"tls": {"clientcas": ["/a.pem", "/b.pem"]}}},
            {"APP_HTTP_TLS_CLIENTCAS": "/a.pem,/b.pem"},
        ),
        (
            {"n": {"eps": [{"url": "u0"}, {"url": "u1"}]}},
            {"APP_N_EPS_0_URL": "u0", "APP_N_EPS_1_URL": "u1"},
        ),
        ({"storage": {"inmemory": None}}, {}),
        ({"port": 5000, "ratio": 0.5}, {"APP_PORT": "5000", "APP_RATIO": "0.5"}),
    ],
)
def test_flatten_joins_the_key_path_upper_cased(tree, expected):
    values, paths = flatten(tree, "APP")
    assert values == expected
    assert set(paths) == set(expected)


def test_flatten_remembers_the_yaml_path():
    _, paths = flatten({"storage": {"s3": {"bucket": "b"}}}, "APP")
    assert paths == {"APP_STORAGE_S3_BUCKET": "storage.s3.bucket"}


def test_flatten_keeps_whole_sections_as_one_json_value():
    tree = {"n": {"eps": [{"url": "u0", "headers": {"Authorization": ["a, b"]}}], "on": True}}
    values, paths = flatten(tree, "APP", frozenset({"APP_N_EPS"}))
    assert json.loads(values["APP_N_EPS"]) == tree["n"]["eps"]
    assert values["APP_N_ON"] == "true" and paths["APP_N_EPS"] == "n.eps"


def test_recording_env_records_lookups_and_scanned_prefixes():
    env = RecordingEnv({"APP_A": "1", "APP_DRIVER_X": "2", "APP_Z": "3"})
    assert env.get("APP_A") == "1" and env.get("APP_B") is None
    assert scan(env, "APP_DRIVER_") == {"APP_DRIVER_X": "2"}
    assert env.knows("APP_A") and env.knows("APP_B") and env.knows("APP_DRIVER_X")
    assert not env.knows("APP_Z")


@pytest.mark.parametrize(
    ("yaml_text", "environ", "expected"),
    [
        ("log: {level: debug}", {}, {"level": "debug"}),
        ("log: {level: debug}", {"APP_LOG_LEVEL": "info"}, {"level": "info"}),  # env wins
        ("storage: {root: /f}", {"APP_LOG_LEVEL": "debug"}, {"root": "/f", "level": "debug"}),
        ("", {"APP_STORAGE_ROOT": "/e"}, {"root": "/e"}),
        ("driver: {a: 1, b: two}", {}, {"params": {"APP_DRIVER_A": "1", "APP_DRIVER_B": "two"}}),
        ("legacy: {root: /old}", {}, {"root": "/old"}),  # renamed by the dialect
        ("legacy: {root: /old}", {"APP_STORAGE_ROOT": "/new"}, {"root": "/new"}),
        ("storage: {root: /f}", {"APP_LEGACY_ROOT": "/env"}, {"root": "/env"}),
    ],
)
def test_file_and_environment_merge(tmp_path, yaml_text, environ, expected):
    path = tmp_path / "app.yml"
    path.write_text(yaml_text)
    resolved = resolve("APP", environ, toy_parse, file=path, dialect=DIALECT)
    assert resolved.error is None
    assert resolved.findings == []
    for key, value in expected.items():
        assert resolved.settings[key] == value


DIALECT = Dialect(
    renamed={"APP_LEGACY_ROOT": "APP_STORAGE_ROOT"},
    unsupported={"APP_PROXY": "no proxy here"},
    ignored=frozenset({"APP_VERSION"}),
    choices={"APP_BACKEND": frozenset({"common"})},
)


def test_unsupported_ignored_and_unknown_are_reported_by_name(tmp_path):
    path = tmp_path / "app.yml"
    path.write_text("version: 0.1\nproxy:\n  remoteurl: https://x\nlog:\n  levle: debug\n")
    environ = {"APP_STORAGE_ROOOT": "/x", "APP_TEST_HARNESS": "1", "OTHER": "y"}
    resolved = resolve("APP", environ, toy_parse, file=path, dialect=DIALECT)
    assert resolved.findings == [
        "proxy.remoteurl in app.yml (APP_PROXY_REMOTEURL): not supported (no proxy here), ignored",
        "log.levle in app.yml (APP_LOG_LEVLE): unknown setting, ignored; did you mean "
        "APP_LOG_LEVEL?",
        "APP_STORAGE_ROOOT: unknown setting, ignored; did you mean APP_STORAGE_ROOT?",
    ]
    assert "APP_PROXY_REMOTEURL" not in resolved.environ
    assert "APP_VERSION" not in resolved.environ
    assert resolved.environ["OTHER"] == "y"


def test_a_choice_section_names_its_one_key(tmp_path):
    path = tmp_path / "app.yml"
    path.write_text("backend:\n  fast: {speed: 1}\n  common: {x: 1}\n")
    resolved = resolve("APP", {}, lambda env: dict(env), file=path, dialect=DIALECT)
    assert resolved.environ["APP_BACKEND"] == "fast"
    path.write_text("backend:\n  fast: {}\n  slow: {}\n")
    with pytest.raises(ConfigFileError, match="backend: configure exactly one of fast, slow"):
        resolve("APP", {}, lambda env: dict(env), file=path, dialect=DIALECT)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("log: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "the top level must be a mapping"),
    ],
)
def test_an_unusable_file_is_one_error_naming_it(tmp_path, content, message):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(ConfigFileError, match=message) as info:
        load_file(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_file(tmp_path / "absent.yml")


def test_report_warns_by_default_and_stops_when_strict():
    resolved = resolve("APP", {"APP_LOG_LEVL": "debug"}, toy_parse)
    out = io.StringIO()
    assert report("app", resolved, strict=False, stream=out) is None
    assert out.getvalue().startswith("app: warning: APP_LOG_LEVL: unknown setting")
    out = io.StringIO()
    assert report("app", resolved, strict=True, stream=out) == 2
    assert "app: error: APP_LOG_LEVL" in out.getvalue()
    assert "--strict: 1 unknown or unsupported setting(s)" in out.getvalue()


def test_report_stops_on_the_parser_error():
    resolved = resolve("APP", {"APP_LOG_LEVEL": "loud"}, toy_parse)
    assert isinstance(resolved.error, ToyError)
    out = io.StringIO()
    assert report("app", resolved, strict=False, stream=out) == 2
    assert "APP_LOG_LEVEL: 'loud'" in out.getvalue()
