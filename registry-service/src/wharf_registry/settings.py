"""Registry settings: parsed once from ``REGISTRY_*`` environment variables.

Names follow the reference registry (distribution), whose configuration maps
``storage.filesystem.rootdirectory`` to ``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY``.

Variables (the README carries the same table)::

    REGISTRY_STORAGE                       filesystem | s3 | inmemory        [filesystem]
    REGISTRY_STORAGE_<DRIVER>_<PARAM>      param <param> (lower case) of the selected driver:
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY                          [/var/lib/registry]
      REGISTRY_STORAGE_S3_BUCKET, _REGION, _ENDPOINT_URL, _PREFIX, _REDIRECT, _CHUNKSIZE,
      _ACCESSKEY, _SECRETKEY (see the s3 driver)
    REGISTRY_STORAGE_REDIRECT_DISABLE      true: never 307 blob GETs to presigned URLs [false]
    REGISTRY_STORAGE_DELETE_ENABLED        false: DELETE of manifests, tags, blobs is 405 [true]
    REGISTRY_AUTH                          none | htpasswd | token           [none]
    REGISTRY_AUTH_HTPASSWD_PATH            bcrypt htpasswd file; required for htpasswd
    REGISTRY_AUTH_HTPASSWD_REALM           realm of the Basic challenge      [wharf-registry]
    REGISTRY_INDEX_URL                     the Index's base URL seen from this host (verify, events)
    REGISTRY_INDEX_NAME                    this registry's name at the Index (token audience)
    REGISTRY_INDEX_CREDENTIAL[_FILE]       credential printed by ``wharf-index registry add``
    REGISTRY_AUTH_TOKEN_REALM              realm clients get tokens from     [<INDEX_URL>/v2/token]
    REGISTRY_AUTH_TOKEN_SERVICE            challenge ``service``, expected ``aud`` [INDEX_NAME]
    REGISTRY_AUTH_TOKEN_ISSUER             expected ``iss``                  [wharf-index]
    REGISTRY_AUTH_TOKEN_VERIFY             remote (keys, then the Index) | local (keys only)
    REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE     PEM certificates of the token server's keys (file)
    REGISTRY_AUTH_TOKEN_JWKS               JWK Set file or URL [<INDEX_URL>/.well-known/jwks.json]
    REGISTRY_AUTH_TOKEN_CACHE_TTL          seconds a remote verification is reused [30]
    REGISTRY_AUTH_TOKEN_CACHE_SIZE         verified tokens remembered per worker [10000]
    REGISTRY_AUTH_TOKEN_CONFIRM            sync | async (reads before the Index answers) [sync]
    REGISTRY_AUTH_TOKEN_LEEWAY             clock-skew allowance in seconds   [60]
    REGISTRY_NOTIFICATIONS_ENABLED         durable events to the Index       [true with INDEX_URL]
    REGISTRY_NOTIFICATIONS_BATCH           events per delivery               [100]
    REGISTRY_NOTIFICATIONS_INTERVAL        seconds between outbox polls      [1]
    REGISTRY_NOTIFICATIONS_MAXBACKOFF      longest wait between failed deliveries, s [60]
    REGISTRY_NOTIFICATIONS_ENDPOINTS       JSON list of distribution-style HTTP endpoints [none]
    REGISTRY_EVENTS_PULL_FLUSH_INTERVAL    seconds pulls are counted before a flush [1]
    REGISTRY_EVENTS_PULL_FLUSH_KEYS        distinct pulled targets that flush early, <= 1000 [500]
    REGISTRY_HTTP_ADDR                     bind address of ``serve``         [0.0.0.0:5000]
    REGISTRY_HTTP_HOST                     public base URL for Location headers [relative]
    REGISTRY_HTTP_BODY_TIMEOUT             idle seconds while a body moves, then drop [60]
    REGISTRY_HTTP_HEADER_TIMEOUT           seconds to send a whole request head, then 408 [20]
    REGISTRY_TRUSTED_PROXIES               proxies in front appending to X-Forwarded-For [0]
    REGISTRY_ALLOWED_NETWORKS              CIDRs (comma-separated) clients must come from [any]
    REGISTRY_HTTP_TLS_CERTIFICATE, _KEY    PEM chain and key files: serve HTTPS (both or neither)
    REGISTRY_HTTP_TLS_CLIENTCAS            CA PEM files (comma-separated): client certs required
    REGISTRY_INDEX_TLS_CA                  CA bundle trusted for REGISTRY_INDEX_URL [system trust]
    REGISTRY_INDEX_TLS_CERTIFICATE, _KEY   client certificate and key for calls to the Index
    REGISTRY_LOG_LEVEL                     DEBUG | INFO | WARNING (WARN) | ERROR | CRITICAL [INFO]
    REGISTRY_LOG_FORMAT                    json | text                       [json]
    REGISTRY_VALIDATION_MANIFESTS_MAXSIZE  largest manifest in bytes (413)   [4194304]
    REGISTRY_VALIDATION_NAME_MAXLENGTH     longest repository name, <= 255   [255]
    REGISTRY_CATALOG_MAXENTRIES            largest (and default) _catalog page [1000]
    REGISTRY_TAGS_MAXENTRIES               largest (and default) tags page   [10000]
    REGISTRY_READONLY                      true: refuse pushes and deletes (405) [false]
    REGISTRY_METRICS                       serve Prometheus metrics at GET /metrics [true]
    REGISTRY_METRICS_TOKEN[_FILE]          bearer token /metrics requires   [none: open]
    REGISTRY_GC_INTERVAL                   run garbage collection in the server this often [off]
    REGISTRY_GC_GRACE                      keep unreferenced blobs used this recently [1h]
    REGISTRY_GC_UPLOADS_OLDER_THAN         purge upload sessions started before this [24h]
    REGISTRY_GC_TOUCH_AFTER                pushes touch referenced blobs older than this [30m]
    REGISTRY_GC_PUSH_DEADLINE              a manifest push links within this, or fails [60s]
    REGISTRY_GC_CLOCK_SKEW                 clock-skew margin between hosts and storage [5m]
    REGISTRY_GC_DELETE_UNTAGGED            garbage collection deletes untagged manifests [false]
    REGISTRY_PROXY_REMOTEURL               mirror every repository from this registry [off]
    REGISTRY_PROXY_USERNAME, _PASSWORD[_FILE]  credentials for it (Basic or token flow)
    REGISTRY_PROXY_TTL                     how long a cached tag is trusted, Go duration [5m]
    REGISTRY_PROXY_DOWN_BACKOFF            a failed upstream is left alone when cached [30s]
    REGISTRY_PROXY_UPSTREAMS               JSON list: prefix, url, username, password, ttl,
                                           down_backoff

Durations are a number with a unit, ``30s``, ``10m``, ``1h``, ``2d``, or plain seconds.

The filesystem root defaults to ``/var/lib/registry``, the reference registry's default, so
that both can serve the same directory (the layout is the same, see ``content/paths.py``).
Booleans accept true/false, 1/0, yes/no, on/off (any case). The README explains the
token and notification variables (which are required together, and the defaults).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wharf_protocol import tls
from wharf_protocol.config import scan
from wharf_protocol.keys import KeySet

from .endpoints_config import EndpointConfig, parse_endpoints
from .proxy_config import Upstream, parse_proxy, upstream_for

__all__ = ["ConfigError", "Settings"]

DRIVERS = ("filesystem", "s3", "inmemory")
AUTH_BACKENDS = ("none", "htpasswd", "token")
TOKEN_VERIFY_MODES = REMOTE, LOCAL = ("remote", "local")
TOKEN_CONFIRM_MODES = SYNC, ASYNC = ("sync", "async")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL_ALIASES = {"WARN": "WARNING"}  # the reference registry's name for WARNING
LOG_FORMATS = ("json", "text")
DEFAULT_ROOTDIRECTORY = "/var/lib/registry"
# One flush is one outbox object and one envelope to the Index (whose body limit is 8 MiB):
# 2 * 1000 pull events of ~1.5 KiB at worst (a full set of keys handed over and the next).
MAX_PULL_FLUSH_KEYS = 1000
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def read_keys(path: str, bundle: bool) -> KeySet:
    """Read a PEM certificate bundle (``bundle``) or a JWK Set file; ValueError saying why."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        document = None if bundle else json.loads(data)
        keys = KeySet.from_pem_bundle(data) if bundle else KeySet.from_jwks(document)
    except (OSError, ValueError) as exc:  # KeysInvalid and JSONDecodeError are ValueErrors
        raise ValueError(f"cannot use {path}: {exc}") from None
    jwks = document["keys"] if document else []
    if b"PRIVATE KEY-----" in data or any(isinstance(k, dict) and "d" in k for k in jwks):
        raise ValueError(f"{path} holds a private key: give the public keys only")
    if not keys:
        raise ValueError(f"{path} holds no ES256 or RS256 public key")
    return keys


class ConfigError(ValueError):
    """Bad configuration: ``problems`` lists every one, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid registry configuration:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Settings:
    """Everything the Registry is configured with; build with :meth:`from_env` or directly.

    Tests construct ``Settings(storage_driver="inmemory")`` and never touch the environment.
    """

    storage_driver: str = "filesystem"
    storage_params: Mapping[str, str] = field(default_factory=dict)
    storage_redirect: bool = True
    delete_enabled: bool = True
    auth: str = "none"
    htpasswd_path: str | None = None
    htpasswd_realm: str = "wharf-registry"
    # noqa reason: a registry listens on every interface by default, like distribution's :5000
    http_addr: str = "0.0.0.0:5000"  # noqa: S104
    http_host: str | None = None
    http_body_timeout: int = 60
    http_header_timeout: int = 20
    # Reverse proxies in front that append the client's address to X-Forwarded-For: the
    # address events report (request.addr), which anonymous pull limits count by.
    trusted_proxies: int = 0
    # The networks clients must connect from (client_networks.py); empty: any address.
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    log_level: str = "INFO"
    log_format: str = "json"
    manifest_max_size: int = 4 * 1024 * 1024
    max_name_length: int = 255
    catalog_max_entries: int = 1000
    tags_max_entries: int = 10000
    read_only: bool = False
    metrics: bool = True  # GET /metrics (metrics.py, scrape.py)
    metrics_token: str | None = field(default=None, repr=False)
    readyz_cache: int = 5  # seconds a storage readiness check is reused (readiness.py)
    # Garbage collection (gc.py, content/liveness.py); durations in seconds.
    gc_interval: float | None = None
    gc_grace: float = 3600.0
    gc_uploads_older_than: float = 24 * 3600.0
    gc_touch_after: float = 30 * 60.0
    gc_push_deadline: float = 60.0
    gc_clock_skew: float = 300.0
    gc_delete_untagged: bool = False
    # The pull-through cache (proxy/, proxy_config.py): mirrored registries by name prefix.
    proxy_upstreams: tuple[Upstream, ...] = ()
    # The Index connection: token auth and durable events.
    index_url: str | None = None
    index_name: str | None = None
    index_credential: str | None = field(default=None, repr=False)
    token_realm: str | None = None  # default <index_url>/v2/token
    token_service: str | None = None  # default index_name
    token_issuer: str = "wharf-index"  # noqa: S105 - an issuer name, not a secret
    token_verify: str = REMOTE
    token_rootcertbundle: str | None = None  # public keys only: no setting takes a private key
    token_jwks: str | None = None  # file or URL; default <index_url>/.well-known/jwks.json
    token_cache_ttl: int = 30
    token_cache_size: int = 10_000
    token_confirm: str = SYNC
    token_leeway: int = 60
    notifications_enabled: bool | None = None  # default: index_url is set
    notifications_batch: int = 100
    notifications_interval: float = 1.0
    notifications_max_backoff: float = 60.0
    notifications_endpoints: tuple[EndpointConfig, ...] = ()  # any HTTP endpoint, see README
    # Pull events, counted in memory and written to the outbox per flush (events/pull_counter).
    events_pull_flush_interval: float = 1.0
    events_pull_flush_keys: int = 500
    # TLS: served (REGISTRY_HTTP_TLS_*) and trusted for the Index (REGISTRY_INDEX_TLS_*).
    http_tls: tls.ServerTLS | None = None
    index_tls_ca: str | None = None
    index_tls_certificate: str | None = None
    index_tls_key: str | None = None

    def __post_init__(self) -> None:
        if self.storage_driver == "filesystem" and "rootdirectory" not in self.storage_params:
            params = {**self.storage_params, "rootdirectory": DEFAULT_ROOTDIRECTORY}
            object.__setattr__(self, "storage_params", params)
        if self.index_url:
            object.__setattr__(self, "index_url", self.index_url.rstrip("/"))
        if self.token_realm is None and self.index_url:
            object.__setattr__(self, "token_realm", f"{self.index_url}/v2/token")
        if not (self.token_jwks or self.token_rootcertbundle) and self.index_url:
            object.__setattr__(self, "token_jwks", f"{self.index_url}/.well-known/jwks.json")
        if self.token_service is None and self.index_name:
            object.__setattr__(self, "token_service", self.index_name)
        if self.notifications_enabled is None:
            object.__setattr__(self, "notifications_enabled", bool(self.index_url))

    def problems(self) -> list[str]:
        """Return what is missing for the chosen auth backend and events, naming variables.

        ``from_env`` reports these with the parse problems; ``create_app`` refuses a directly
        built Settings that has any (ConfigError).
        """
        found = []
        if self.auth == "token":
            if self.token_verify == REMOTE:
                found += self._require_index("REGISTRY_AUTH=token (remote verification)")
            elif self.token_confirm == ASYNC:
                found.append(
                    "REGISTRY_AUTH_TOKEN_CONFIRM: async needs REGISTRY_AUTH_TOKEN_VERIFY=remote "
                    "(local verification has no Index confirmation)"
                )
            if not (self.token_jwks or self.token_rootcertbundle):
                found.append(
                    "REGISTRY_AUTH_TOKEN_JWKS (or _ROOTCERTBUNDLE): required when "
                    "REGISTRY_AUTH=token and REGISTRY_INDEX_URL is not set"
                )
            if not self.index_name and not self.token_service:
                found.append("REGISTRY_INDEX_NAME: required when REGISTRY_AUTH=token")
            if not self.token_realm:
                found.append(
                    "REGISTRY_AUTH_TOKEN_REALM: required when REGISTRY_AUTH=token "
                    "and REGISTRY_INDEX_URL is not set"
                )
        if self.notifications_enabled:
            found += self._require_index("REGISTRY_NOTIFICATIONS_ENABLED=true")
        return list(dict.fromkeys(found))

    def _require_index(self, why: str) -> list[str]:
        needed = [
            ("REGISTRY_INDEX_URL", self.index_url),
            ("REGISTRY_INDEX_NAME", self.index_name),
            ("REGISTRY_INDEX_CREDENTIAL", self.index_credential),
        ]
        return [f"{name}: required when {why}" for name, value in needed if not value]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse ``environ`` (default ``os.environ``); ConfigError names every bad variable."""
        env = os.environ if environ is None else environ
        parser = _Parser(env)
        driver = parser.choice("REGISTRY_STORAGE", DRIVERS, "filesystem")
        params = _driver_params(env, driver)
        auth = parser.choice("REGISTRY_AUTH", AUTH_BACKENDS, "none")
        htpasswd_path = env.get("REGISTRY_AUTH_HTPASSWD_PATH") or None
        if auth == "htpasswd" and not htpasswd_path:
            parser.problems.append(
                "REGISTRY_AUTH_HTPASSWD_PATH: required when REGISTRY_AUTH=htpasswd"
            )
        settings = cls(
            storage_driver=driver,
            storage_params=params,
            storage_redirect=not parser.boolean("REGISTRY_STORAGE_REDIRECT_DISABLE", False),
            delete_enabled=parser.boolean("REGISTRY_STORAGE_DELETE_ENABLED", True),
            auth=auth,
            htpasswd_path=htpasswd_path,
            htpasswd_realm=env.get("REGISTRY_AUTH_HTPASSWD_REALM") or "wharf-registry",
            http_addr=env.get("REGISTRY_HTTP_ADDR") or cls.http_addr,
            http_host=parser.url("REGISTRY_HTTP_HOST"),
            http_body_timeout=parser.integer("REGISTRY_HTTP_BODY_TIMEOUT", 60),
            http_header_timeout=parser.integer("REGISTRY_HTTP_HEADER_TIMEOUT", 20),
            trusted_proxies=parser.integer("REGISTRY_TRUSTED_PROXIES", 0, low=0),
            allowed_networks=parser.networks("REGISTRY_ALLOWED_NETWORKS"),
            log_level=parser.choice(
                "REGISTRY_LOG_LEVEL", LOG_LEVELS, "INFO", upper=True, aliases=LOG_LEVEL_ALIASES
            ),
            log_format=parser.choice("REGISTRY_LOG_FORMAT", LOG_FORMATS, "json"),
            manifest_max_size=parser.integer("REGISTRY_VALIDATION_MANIFESTS_MAXSIZE", 4 << 20),
            max_name_length=parser.integer("REGISTRY_VALIDATION_NAME_MAXLENGTH", 255, high=255),
            catalog_max_entries=parser.integer("REGISTRY_CATALOG_MAXENTRIES", 1000),
            tags_max_entries=parser.integer("REGISTRY_TAGS_MAXENTRIES", 10000),
            read_only=parser.boolean("REGISTRY_READONLY", False),
            metrics=parser.boolean("REGISTRY_METRICS", True),
            metrics_token=parser.secret("REGISTRY_METRICS_TOKEN"),
            readyz_cache=parser.integer("REGISTRY_READYZ_CACHE", 5, low=0, high=300),
            proxy_upstreams=_proxy_settings(env, parser),
            **_gc_settings(parser),
            **_index_settings(env, parser),
            **_tls_settings(env, parser),
        )
        named = parser.named()
        problems = parser.problems + [  # a variable already reported is not reported again
            p for p in settings.problems() if not named & set(re.findall(r"\bREGISTRY_\w+", p))
        ]
        if problems:
            raise ConfigError(problems)
        return settings

    @property
    def active_endpoints(self) -> tuple[EndpointConfig, ...]:
        """The notification endpoints that are not ``disabled``."""
        return tuple(e for e in self.notifications_endpoints if not e.disabled)

    def upstream_for(self, name: str) -> Upstream | None:
        """The upstream repository ``name`` is mirrored from, or None (not proxied)."""
        return upstream_for(self.proxy_upstreams, name)

    def location(self, path: str) -> str:
        """Return ``path`` made absolute with REGISTRY_HTTP_HOST when set, else unchanged."""
        return f"{self.http_host}{path}" if self.http_host else path


def _driver_params(env: Mapping[str, str], driver: str) -> dict[str, str]:
    """Return the selected driver's params; every driver's variables are known (ignored)."""
    found = {name: scan(env, f"REGISTRY_STORAGE_{name.upper()}_") for name in DRIVERS}
    prefix = f"REGISTRY_STORAGE_{driver.upper()}_"
    return {k[len(prefix) :].lower(): v for k, v in found[driver].items()}


def _proxy_settings(env: Mapping[str, str], parser: _Parser) -> tuple[Upstream, ...]:
    """Parse REGISTRY_PROXY_* (proxy_config.py)."""
    upstreams, problems = parse_proxy(env, parser.secret("REGISTRY_PROXY_PASSWORD"))
    parser.problems += problems
    return upstreams


def _gc_settings(parser: _Parser) -> dict[str, object]:
    """Parse REGISTRY_GC_*: the schedule, what it deletes, the windows, the push-side bounds."""
    found = {
        "gc_interval": parser.duration("REGISTRY_GC_INTERVAL", None),
        "gc_grace": parser.duration("REGISTRY_GC_GRACE", 3600.0),
        "gc_uploads_older_than": parser.duration("REGISTRY_GC_UPLOADS_OLDER_THAN", 86400.0),
        "gc_touch_after": parser.duration("REGISTRY_GC_TOUCH_AFTER", 1800.0),
        "gc_push_deadline": parser.duration("REGISTRY_GC_PUSH_DEADLINE", 60.0),
        "gc_clock_skew": parser.duration("REGISTRY_GC_CLOCK_SKEW", 300.0),
        "gc_delete_untagged": parser.boolean("REGISTRY_GC_DELETE_UNTAGGED", False),
    }
    needed = found["gc_touch_after"] + found["gc_push_deadline"] + found["gc_clock_skew"]
    if found["gc_interval"] is not None and found["gc_grace"] <= needed:
        parser.problems.append(
            f"REGISTRY_GC_GRACE: {found['gc_grace']:g} s must exceed REGISTRY_GC_TOUCH_AFTER + "
            f"REGISTRY_GC_PUSH_DEADLINE + REGISTRY_GC_CLOCK_SKEW ({needed:g} s)"
        )
    return found


def parse_duration(raw: str) -> float:
    """Return the seconds of ``30s``, ``10m``, ``1h``, ``2d`` or a plain number (> 0).

    ValueError for anything else.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", raw.lower())
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{raw!r} is not a duration (30s, 10m, 1h, 2d or seconds)")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def _index_settings(env: Mapping[str, str], parser: _Parser) -> dict[str, object]:
    """Parse the Index connection: REGISTRY_INDEX_*, REGISTRY_AUTH_TOKEN_*, NOTIFICATIONS_*."""
    if env.get("REGISTRY_AUTH_TOKEN_KEYS"):
        parser.problems.append(
            "REGISTRY_AUTH_TOKEN_KEYS: no longer supported (the registry holds no key that can "
            "sign a token): give the token server's public keys with "
            "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE or REGISTRY_AUTH_TOKEN_JWKS"
        )
    jwks = env.get("REGISTRY_AUTH_TOKEN_JWKS") or None
    enabled = env.get("REGISTRY_NOTIFICATIONS_ENABLED")
    endpoints, problems = parse_endpoints(env.get("REGISTRY_NOTIFICATIONS_ENDPOINTS"))
    parser.problems += problems
    return {
        "index_url": parser.url("REGISTRY_INDEX_URL"),
        "index_name": env.get("REGISTRY_INDEX_NAME") or None,
        "index_credential": parser.secret("REGISTRY_INDEX_CREDENTIAL"),
        "token_realm": parser.url("REGISTRY_AUTH_TOKEN_REALM", path=True),
        "token_service": env.get("REGISTRY_AUTH_TOKEN_SERVICE") or None,
        "token_issuer": env.get("REGISTRY_AUTH_TOKEN_ISSUER") or "wharf-index",
        "token_verify": parser.choice("REGISTRY_AUTH_TOKEN_VERIFY", TOKEN_VERIFY_MODES, "remote"),
        "token_rootcertbundle": parser.keys("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", bundle=True),
        "token_jwks": parser.url("REGISTRY_AUTH_TOKEN_JWKS", path=True)
        if jwks and jwks.startswith(("http://", "https://"))
        else parser.keys("REGISTRY_AUTH_TOKEN_JWKS", bundle=False),
        "token_cache_ttl": parser.integer("REGISTRY_AUTH_TOKEN_CACHE_TTL", 30, low=0),
        "token_cache_size": parser.integer("REGISTRY_AUTH_TOKEN_CACHE_SIZE", 10_000),
        "token_confirm": parser.choice("REGISTRY_AUTH_TOKEN_CONFIRM", TOKEN_CONFIRM_MODES, SYNC),
        "token_leeway": parser.integer("REGISTRY_AUTH_TOKEN_LEEWAY", 60, low=0),
        "notifications_enabled": None
        if not enabled
        else parser.boolean("REGISTRY_NOTIFICATIONS_ENABLED", False),
        "notifications_batch": parser.integer("REGISTRY_NOTIFICATIONS_BATCH", 100, high=10000),
        "notifications_interval": parser.number("REGISTRY_NOTIFICATIONS_INTERVAL", 1.0),
        "notifications_max_backoff": parser.number("REGISTRY_NOTIFICATIONS_MAXBACKOFF", 60.0),
        "notifications_endpoints": endpoints,
        "events_pull_flush_interval": parser.number("REGISTRY_EVENTS_PULL_FLUSH_INTERVAL", 1.0),
        "events_pull_flush_keys": parser.integer(
            "REGISTRY_EVENTS_PULL_FLUSH_KEYS", 500, high=MAX_PULL_FLUSH_KEYS
        ),
    }


def _tls_settings(env: Mapping[str, str], parser: _Parser) -> dict[str, object]:
    """Parse REGISTRY_HTTP_TLS_* (served) and REGISTRY_INDEX_TLS_* (trust for Index calls)."""
    served, problems = tls.server_tls_from_env(env, "REGISTRY_HTTP_TLS")
    ca = env.get("REGISTRY_INDEX_TLS_CA") or None
    if ca and (problem := tls.ca_file_problem(ca)):
        problems["REGISTRY_INDEX_TLS_CA"] = problem
    cert, key = (env.get(f"REGISTRY_INDEX_TLS_{n}") or None for n in ("CERTIFICATE", "KEY"))
    if bool(cert) != bool(key):
        problems["REGISTRY_INDEX_TLS_" + ("KEY" if cert else "CERTIFICATE")] = (
            "REGISTRY_INDEX_TLS_CERTIFICATE and REGISTRY_INDEX_TLS_KEY go together"
        )
    elif cert and key and (problem := tls.client_cert_problem(cert, key)):
        problems[
            "REGISTRY_INDEX_TLS_" + ("KEY" if problem.startswith("key") else "CERTIFICATE")
        ] = problem
    parser.problems += [f"{name}: {problem}" for name, problem in problems.items()]
    return {
        "http_tls": served,
        "index_tls_ca": ca,
        "index_tls_certificate": cert,
        "index_tls_key": key,
    }


class _Parser:
    """Coerce variables, collecting a problem per bad one instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def choice(
        self,
        name: str,
        allowed: tuple[str, ...],
        default: str,
        upper: bool = False,
        aliases: Mapping[str, str] | None = None,
    ) -> str:
        raw = self.env.get(name) or default
        value = raw.upper() if upper else raw.lower()
        value = (aliases or {}).get(value, value)
        if value not in allowed:
            self.problems.append(f"{name}: {raw!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        self.problems.append(f"{name}: {raw!r} is not a boolean (true/false)")
        return default

    def integer(self, name: str, default: int, high: int | None = None, low: int = 1) -> int:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}: {raw!r} is not an integer")
            return default
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.problems.append(f"{name}: {value} must be {bound}")
            return default
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not 0 < value < float("inf"):
            self.problems.append(f"{name}: {raw!r} is not a positive number of seconds")
            return default
        return value

    def duration(self, name: str, default: float | None) -> float | None:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        try:
            return parse_duration(raw)
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return default

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Return the comma-separated networks in ``name`` (CIDR, ``10.0.0.0/8``,
        ``2001:db8::/32``; an address alone is its own network); a problem per bad one
        (host bits set included: ``10.0.0.1/8`` is a mistake for ``10.0.0.0/8``)."""
        found = []
        for raw in (self.env.get(name) or "").split(","):
            if not raw.strip():
                continue
            try:
                found.append(ipaddress.ip_network(raw.strip()))
            except ValueError as exc:
                self.problems.append(f"{name}: {raw.strip()!r} is not a network: {exc}")
        return tuple(found)

    def url(self, name: str, path: bool = False) -> str | None:
        """Return an http(s) base URL without trailing slash (``path``: any path allowed)."""
        raw = self.env.get(name)
        if not raw:
            return None
        parts = urlsplit(raw)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or (not path and parts.fragment)
        ):
            self.problems.append(f"{name}: {raw!r} is not an http(s) base URL")
            return None
        return raw.rstrip("/")

    def secret(self, name: str) -> str | None:
        """Return ``name`` or the stripped content of the file ``<name>_FILE`` (never logged)."""
        value, path = self.env.get(name), self.env.get(f"{name}_FILE")  # both read: both known
        if value:
            return value.strip()
        if not path:
            return None
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip() or None
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{name}_FILE: cannot read {path}: {type(exc).__name__}")
            return None

    def keys(self, name: str, bundle: bool) -> str | None:
        """Return the path in ``name`` if it holds public keys (PEM bundle or JWK Set)."""
        path = self.env.get(name)
        if path:
            try:
                read_keys(path, bundle)
            except ValueError as exc:
                self.problems.append(f"{name}: {exc}")
        return path or None

    def named(self) -> set[str]:
        """Return the variables that already have a problem (to report each once)."""
        return {p.split(":", 1)[0].removesuffix("_FILE") for p in self.problems}


def index_tls(settings: Settings) -> dict:
    """``verify``/``cert`` of IndexClient: REGISTRY_INDEX_TLS_CA (else system trust) and the
    client certificate REGISTRY_INDEX_TLS_CERTIFICATE/_KEY, if any."""
    cert = settings.index_tls_certificate
    return {
        "verify": settings.index_tls_ca or True,
        "cert": (cert, settings.index_tls_key) if cert and settings.index_tls_key else None,
    }
