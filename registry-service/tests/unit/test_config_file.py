"""``serve --config``: distribution's YAML layout and REGISTRY_* overrides -> Settings.

Each case is a config.yml snippet and an environment, and the Settings fields (or the error,
or the reports) they must give; ``configure`` is what ``wharf-registry serve`` runs first.
"""

import textwrap

import pytest
from wharf_protocol.config import ConfigFileError
from wharf_registry.cli import configure, storage_problem

FS = "storage:\n  filesystem:\n    rootdirectory: /srv/registry\n"
S3 = """
storage:
  s3:
    accesskey: AKIA
    secretkey: sekrit
    region: eu-west-3
    regionendpoint: http://127.0.0.1:9000
    bucket: images
    rootdirectory: /s3/prefix
    chunksize: 5242880
"""

# (id, yaml, env, expected Settings fields)
CASES = [
    (
        "filesystem",
        FS,
        {},
        {"storage_driver": "filesystem", "storage_params": {"rootdirectory": "/srv/registry"}},
    ),
    (
        "env beats file",
        FS,
        {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/env"},
        {"storage_params": {"rootdirectory": "/env"}},
    ),
    ("inmemory", "storage:\n  inmemory:\n", {}, {"storage_driver": "inmemory"}),
    (
        "env selects the driver",
        FS,
        {"REGISTRY_STORAGE": "inmemory"},
        {"storage_driver": "inmemory"},
    ),
    (
        "s3",
        S3,
        {},
        {
            "storage_driver": "s3",
            "storage_params": {
                "accesskey": "AKIA",
                "secretkey": "sekrit",
                "region": "eu-west-3",
                "bucket": "images",
                "endpoint_url": "http://127.0.0.1:9000",
                "prefix": "/s3/prefix",
                "chunksize": "5242880",
            },
        },
    ),
    (
        "s3 env bucket",
        S3,
        {"REGISTRY_STORAGE_S3_BUCKET": "other"},
        {"storage_params.bucket": "other"},
    ),
    (
        "s3 env regionendpoint",
        S3,
        {"REGISTRY_STORAGE_S3_REGIONENDPOINT": "http://b:1"},
        {"storage_params.endpoint_url": "http://b:1"},
    ),
    (
        "s3 env wharf name",
        S3,
        {"REGISTRY_STORAGE_S3_ENDPOINT_URL": "http://c:1"},
        {"storage_params.endpoint_url": "http://c:1"},
    ),
    (
        "s3 secure false",
        "storage:\n  s3:\n    bucket: b\n    regionendpoint: minio:9000\n    secure: false\n",
        {},
        {"storage_params": {"bucket": "b", "endpoint_url": "http://minio:9000"}},
    ),
    (
        "s3 secure default",
        "storage:\n  s3:\n    bucket: b\n    regionendpoint: minio:9000\n    secure: true\n",
        {},
        {"storage_params.endpoint_url": "https://minio:9000"},
    ),
    ("delete disabled", FS + "  delete:\n    enabled: false\n", {}, {"delete_enabled": False}),
    (
        "delete env",
        FS + "  delete:\n    enabled: false\n",
        {"REGISTRY_STORAGE_DELETE_ENABLED": "true"},
        {"delete_enabled": True},
    ),
    ("delete default", FS, {}, {"delete_enabled": True}),
    ("redirect disable", FS + "  redirect:\n    disable: true\n", {}, {"storage_redirect": False}),
    (
        "readonly",
        FS + "  maintenance:\n    readonly:\n      enabled: true\n",
        {},
        {"read_only": True},
    ),
    (
        "http",
        "http:\n  addr: :5000\n  host: https://reg.example\n  secret: s\n",
        {},
        {"http_addr": ":5000", "http_host": "https://reg.example"},
    ),
    (
        "http env addr",
        "http:\n  addr: :5000\n",
        {"REGISTRY_HTTP_ADDR": "127.0.0.1:1"},
        {"http_addr": "127.0.0.1:1"},
    ),
    (
        "htpasswd",
        "auth:\n  htpasswd:\n    realm: basic-realm\n    path: /etc/htpasswd\n",
        {},
        {"auth": "htpasswd", "htpasswd_realm": "basic-realm", "htpasswd_path": "/etc/htpasswd"},
    ),
    (
        "token",
        "auth:\n  token:\n    realm: https://idx/v2/token\n    service: reg\n    issuer: "
        "idx\nindex:\n  url: http://idx\n  name: reg\n  credential: c\n",
        {},
        {
            "auth": "token",
            "token_realm": "https://idx/v2/token",
            "token_service": "reg",
            "token_issuer": "idx",
            "index_url": "http://idx",
            "notifications_enabled": True,
        },
    ),
    (
        "log",
        "log:\n  level: warn\n  formatter: text\n",
        {},
        {"log_level": "WARNING", "log_format": "text"},
    ),
    (
        "log env formatter",
        "log:\n  formatter: text\n",
        {"REGISTRY_LOG_FORMATTER": "json"},
        {"log_format": "json"},
    ),
    ("deprecated loglevel", "loglevel: debug\n", {}, {"log_level": "DEBUG"}),
    ("catalog", "catalog:\n  maxentries: 50\n", {}, {"catalog_max_entries": 50}),
    ("version only", "version: 0.1\n", {}, {"storage_driver": "filesystem"}),
    (
        "notification endpoints as distribution documents them",
        """
        notifications:
          events:
            includereferences: true
          endpoints:
            - name: alistener
              disabled: false
              url: https://my.listener.com/event
              headers:
                Authorization: [Bearer <token>]
                X-Many: [one, two]
              timeout: 500ms
              threshold: 5
              backoff: 1m30s
              ignoredmediatypes:
                - application/octet-stream
              ignore:
                mediatypes:
                   - application/vnd.oci.image.config.v1+json
                actions:
                   - pull
            - name: second
              url: http://127.0.0.1:9/hook
        """,
        {},
        {
            "notifications_enabled": False,
            "notifications_endpoints.0.name": "alistener",
            "notifications_endpoints.0.url": "https://my.listener.com/event",
            "notifications_endpoints.0.headers": {
                "Authorization": ("Bearer <token>",),
                "X-Many": ("one", "two"),
            },
            "notifications_endpoints.0.timeout": 0.5,
            "notifications_endpoints.0.threshold": 5,
            "notifications_endpoints.0.backoff": 90.0,
            "notifications_endpoints.0.ignored_media_types": {
                "application/octet-stream",
                "application/vnd.oci.image.config.v1+json",
            },
            "notifications_endpoints.0.ignored_actions": {"pull"},
            "notifications_endpoints.1.timeout": 1.0,
            "notifications_endpoints.1.threshold": 10,
            "notifications_endpoints.1.backoff": 1.0,
        },
    ),
    (
        "notification endpoints from the environment win over the file",
        "notifications:\n  endpoints:\n    - name: a\n      url: https://l/e\n",
        {"REGISTRY_NOTIFICATIONS_ENDPOINTS": '[{"name": "b", "url": "http://b/"}]'},
        {"notifications_endpoints.0.name": "b"},
    ),
]


def _field(settings, dotted):
    value = settings
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value[part]
        elif isinstance(value, tuple):
            value = value[int(part)]
        else:
            value = getattr(value, part)
    return value


@pytest.mark.parametrize(
    ("yaml_text", "env", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_config_file_and_overrides(tmp_path, yaml_text, env, expected):
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(yaml_text))
    resolved = configure(env, str(path))
    assert resolved.error is None, resolved.error
    assert resolved.findings == []
    for name, value in expected.items():
        assert _field(resolved.settings, name) == value, name


# (id, yaml, env, text the error must contain)
ERRORS = [
    (
        "htpasswd without path",
        "auth:\n  htpasswd:\n    realm: r\n",
        {},
        "REGISTRY_AUTH_HTPASSWD_PATH: required",
    ),
    (
        "logstash",
        "log:\n  formatter: logstash\n",
        {},
        "REGISTRY_LOG_FORMAT: 'logstash' is not one of json, text",
    ),
    (
        "azure",
        "storage:\n  azure:\n    accountname: a\n",
        {},
        "REGISTRY_STORAGE: 'azure' is not one of",
    ),
    (
        "bad boolean",
        FS + "  delete:\n    enabled: maybe\n",
        {},
        "REGISTRY_STORAGE_DELETE_ENABLED: 'maybe' is not a boolean",
    ),
    ("env error", FS, {"REGISTRY_LOG_LEVEL": "loud"}, "REGISTRY_LOG_LEVEL"),
    (
        "endpoint timeout in nanoseconds",
        "notifications:\n  endpoints:\n    - name: a\n      url: https://l/e\n      timeout: 500\n",
        {},
        "REGISTRY_NOTIFICATIONS_ENDPOINTS: endpoint 'a': timeout: '500' has no unit",
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "env", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_bad_settings_are_one_error_naming_them(tmp_path, yaml_text, env, message):
    path = tmp_path / "config.yml"
    path.write_text(yaml_text)
    assert message in str(configure(env, str(path)).error)


def test_two_storage_drivers_are_refused(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(FS + "  inmemory:\n")
    with pytest.raises(
        ConfigFileError, match="storage: configure exactly one of filesystem, inmemory"
    ):
        configure({}, str(path))


# (id, yaml, env, findings)
REPORTS = [
    (
        "debug addr in file",
        "http:\n  debug:\n    addr: localhost:5001\n",
        {},
        [
            "http.debug.addr in config.yml (REGISTRY_HTTP_DEBUG_ADDR): not supported (no debug "
            "server; metrics are at /metrics (REGISTRY_METRICS)), ignored"
        ],
    ),
    (
        "debug addr in env",
        "",
        {"REGISTRY_HTTP_DEBUG_ADDR": ":5001"},
        [
            "REGISTRY_HTTP_DEBUG_ADDR: not supported (no debug server; metrics are at /metrics "
            "(REGISTRY_METRICS)), ignored"
        ],
    ),
    (
        "proxy exec",
        "proxy:\n  remoteurl: https://registry-1.docker.io\n  exec:\n    command: helper\n",
        {},
        [
            "proxy.exec.command in config.yml (REGISTRY_PROXY_EXEC_COMMAND): not supported (no "
            "credential helper: give username and password), ignored"
        ],
    ),
    (
        "includereferences false",
        "notifications:\n  events:\n    includereferences: false\n",
        {},
        [
            "notifications.events.includereferences in config.yml "
            "(REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES): not supported (manifest events "
            "always carry references), ignored"
        ],
    ),
    (
        "s3 secure false without endpoint",
        "storage:\n  s3:\n    bucket: b\n    secure: false\n",
        {},
        [
            "storage.s3.secure in config.yml (REGISTRY_STORAGE_S3_SECURE): not supported without "
            "regionendpoint (AWS is always HTTPS), ignored"
        ],
    ),
    (
        "misspelt key",
        "storage:\n  delete:\n    enabeld: false\n",
        {},
        [
            "storage.delete.enabeld in config.yml (REGISTRY_STORAGE_DELETE_ENABELD): unknown "
            "setting, ignored; did you mean REGISTRY_STORAGE_DELETE_ENABLED?"
        ],
    ),
    (
        "misspelt variable",
        "",
        {"REGISTRY_STORAGE_DELETE_ENABLD": "false"},
        [
            "REGISTRY_STORAGE_DELETE_ENABLD: unknown setting, ignored; did you mean "
            "REGISTRY_STORAGE_DELETE_ENABLED?"
        ],
    ),
    (
        "unknown section",
        "frobnicate:\n  level: 3\n",
        {},
        ["frobnicate.level in config.yml (REGISTRY_FROBNICATE_LEVEL): unknown setting, ignored"],
    ),
    ("harness variables", "", {"REGISTRY_TEST_S3_ENDPOINT_URL": "http://x", "PATH": "/bin"}, []),
    (
        "credential file and other drivers' params",
        "",
        {"REGISTRY_INDEX_CREDENTIAL_FILE": "/dev/null", "REGISTRY_STORAGE_S3_BUCKET": "b"},
        [],
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "env", "findings"), [c[1:] for c in REPORTS], ids=[c[0] for c in REPORTS]
)
def test_unknown_and_unsupported_settings_are_reported(tmp_path, yaml_text, env, findings):
    path = tmp_path / "config.yml"
    path.write_text(yaml_text)
    resolved = configure(env, str(path))
    assert resolved.error is None
    assert resolved.findings == findings


# (id, yaml, env, the one message)
STORAGE = [
    (
        "s3 without bucket",
        "storage:\n  s3:\n    region: eu-west-3\n",
        {},
        "REGISTRY_STORAGE_S3_BUCKET: bucket is required for the s3 driver",
    ),
    (
        "s3 accesskey alone",
        "",
        {
            "REGISTRY_STORAGE": "s3",
            "REGISTRY_STORAGE_S3_BUCKET": "b",
            "REGISTRY_STORAGE_S3_ACCESSKEY": "a",
        },
        "REGISTRY_STORAGE_S3_SECRETKEY: accesskey and secretkey must be given together",
    ),
    (
        "s3 bad rootdirectory",
        "storage:\n  s3:\n    bucket: b\n    rootdirectory: /a b\n",
        {},
        "storage.s3.rootdirectory in config.yml (REGISTRY_STORAGE_S3_ROOTDIRECTORY): prefix 'a b' "
        "must be",
    ),
    (
        "s3 small chunksize",
        "storage:\n  s3:\n    bucket: b\n    chunksize: 1024\n",
        {},
        "storage.s3.chunksize in config.yml (REGISTRY_STORAGE_S3_CHUNKSIZE): chunksize must be "
        "between",
    ),
]


@pytest.mark.parametrize(
    ("yaml_text", "env", "message"), [c[1:] for c in STORAGE], ids=[c[0] for c in STORAGE]
)
def test_broken_driver_settings_name_the_setting(tmp_path, yaml_text, env, message):
    path = tmp_path / "config.yml"
    path.write_text(yaml_text)
    resolved = configure(env, str(path))
    assert resolved.error is None
    assert message in storage_problem(resolved)


def test_a_filesystem_root_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    resolved = configure({"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(blocker / "root")})
    problem = storage_problem(resolved)
    assert problem.startswith("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: rootdirectory ")
    assert "unusable" in problem


def test_good_driver_settings_have_no_problem(tmp_path):
    resolved = configure({"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "r")})
    assert storage_problem(resolved) is None


def test_a_misspelt_driver_parameter_stops_start_up_naming_the_closest(tmp_path):
    resolved = configure({"REGISTRY_STORAGE": "s3", "REGISTRY_STORAGE_S3_BUKET": "b"})
    assert storage_problem(resolved) == (
        "REGISTRY_STORAGE_S3_BUKET: unknown s3 driver parameter(s): ['buket'] "
        "(did you mean bucket?)"
    )
