"""The Index's settings: ``INDEX_*`` environment variables parsed once into :class:`Settings`.

``Settings.from_env(environ)`` reads every variable, coerces its type and collects *all*
problems into one :class:`ConfigError` (each message names its variable). ``create_app`` and
the CLI receive the resulting frozen object; tests build ``Settings(...)`` directly.

Only ``INDEX_DATABASE_URL`` and ``INDEX_SECRET_KEY`` have no default. Secrets
(``INDEX_SECRET_KEY``, ``INDEX_DATABASE_URL``) may instead be given as ``<NAME>_FILE``: the
path of a file holding the value (container secrets); trailing whitespace is stripped.
Setting both the variable and its ``_FILE`` form is an error.

Token signing keys live in the database (services/signing_keys.py; ``wharf-index keys
rotate``), their private halves encrypted with a password derived from the secret key;
``INDEX_TOKEN_ALGORITHM`` chooses the algorithm of new keys. The former
``INDEX_TOKEN_KEYS`` is refused with a message saying so. Refresh tokens are signed (HMAC)
with a key derived from the secret key (:func:`derive_token_key`).

The README carries the full table (name, meaning, default).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from wharf_protocol import tls
from wharf_protocol.sizes import parse_size

from .domain.pull_limits import Rate
from .domain.webhook_targets import Network, parse_networks
from .logconfig import FORMATS, LEVELS

TOKEN_KEY_DERIVATION = b"wharf-index.token-key.v1"
TOKEN_ALGORITHMS = ("ES256", "RS256")
REMOVED = {
    name: "no longer read: the token signing keys live in the database"
    " (`wharf-index keys rotate` makes a new one); unset it"
    for name in ("INDEX_TOKEN_KEYS", "INDEX_TOKEN_KEYS_FILE")
}
VISIBILITIES = ("public", "private")
SIGNUP_MODES = ("closed", "invite", "open")
MIN_SECRET_LENGTH = 16
MIN_SCRYPT_N = 1 << 10


class ConfigError(ValueError):
    """Bad configuration; ``.problems`` maps each bad variable to what is wrong with it."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"{name}: {problem}" for name, problem in sorted(self.problems.items())]
        super().__init__("invalid configuration:\n  " + "\n  ".join(lines))


def derive_token_key(secret_key: str) -> str:
    """Return the refresh-token signing key derived from ``secret_key``:
    HMAC-SHA256(key=secret_key, msg="wharf-index.token-key.v1"), hex."""
    return hmac.new(secret_key.encode(), TOKEN_KEY_DERIVATION, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Settings:
    """Everything the Index reads from its environment, typed. Field -> variable:

    database_url ``INDEX_DATABASE_URL``; secret_key ``INDEX_SECRET_KEY``; token_algorithm
    ``INDEX_TOKEN_ALGORITHM`` (of new signing keys); token_issuer ``INDEX_TOKEN_ISSUER``;
    token_ttl ``INDEX_TOKEN_TTL``; token_leeway ``INDEX_TOKEN_LEEWAY``; refresh_token_ttl
    ``INDEX_REFRESH_TOKEN_TTL``; public_url ``INDEX_PUBLIC_URL``; default_visibility
    ``INDEX_DEFAULT_VISIBILITY``; db_pool_min/db_pool_max ``INDEX_DB_POOL_MIN/MAX``;
    db_connect_timeout ``INDEX_DB_CONNECT_TIMEOUT``; db_statement_timeout
    ``INDEX_DB_STATEMENT_TIMEOUT``; db_pool_timeout ``INDEX_DB_POOL_TIMEOUT``;
    db_response_timeout ``INDEX_DB_RESPONSE_TIMEOUT`` (client-side bound of each wait for
    the database's answer); db_token_response_timeout ``INDEX_DB_TOKEN_RESPONSE_TIMEOUT``
    (the same on the token endpoint and token verification); log_level ``INDEX_LOG_LEVEL``;
    log_format ``INDEX_LOG_FORMAT``; login_throttle_failures
    ``INDEX_LOGIN_THROTTLE_FAILURES``; login_throttle_delay ``INDEX_LOGIN_THROTTLE_DELAY``;
    login_throttle_max_delay ``INDEX_LOGIN_THROTTLE_MAX_DELAY``; password_scrypt_n
    ``INDEX_PASSWORD_SCRYPT_N``; credential_cache_ttl ``INDEX_CREDENTIAL_CACHE_TTL``;
    credential_cache_size ``INDEX_CREDENTIAL_CACHE_SIZE``; max_page_size
    ``INDEX_MAX_PAGE_SIZE``; bind ``INDEX_BIND``; workers ``INDEX_WORKERS``; threads
    ``INDEX_THREADS``; http_header_timeout ``INDEX_HTTP_HEADER_TIMEOUT`` (seconds a client
    has to send a request head); http_body_timeout ``INDEX_HTTP_BODY_TIMEOUT`` (seconds a
    request's socket may stall); deletion_redrive_interval
    ``INDEX_DELETION_REDRIVE_INTERVAL`` (seconds between re-drives of repository deletions
    stuck in ``deleting``, in each served worker; 0 turns it off); trusted_proxies
    ``INDEX_TRUSTED_PROXIES`` (how many reverse proxies in front of the Index append to
    ``X-Forwarded-For``; 0: the connection's peer is the client); prune_interval
    ``INDEX_PRUNE_INTERVAL`` (seconds between prunings of expired token records and old
    processed event ids; 0 turns it off); retention_interval ``INDEX_RETENTION_INTERVAL``
    (seconds between runs of the repositories' tag retention rules; 0 turns it off);
    event_retention ``INDEX_EVENT_RETENTION`` (seconds
    a processed event id is kept); prune_batch ``INDEX_PRUNE_BATCH`` (rows per delete);
    http_tls ``INDEX_HTTP_TLS_CERTIFICATE``, ``_KEY``, ``_CLIENTCAS`` (serve HTTPS, see
    wharf_protocol.tls); registry_tls_ca
    ``INDEX_REGISTRY_TLS_CA`` (CA bundle trusted for registry URLs; None: system trust);
    webhook_allowed_networks ``INDEX_WEBHOOK_ALLOWED_NETWORKS`` (networks webhooks may
    reach although not globally routable, domain/webhook_targets.py);
    webhook_delivery_retention ``INDEX_WEBHOOK_DELIVERY_RETENTION`` (seconds a finished
    webhook delivery is kept); the webhook worker's (services/webhook_worker.py)
    webhook_connect_timeout ``INDEX_WEBHOOK_CONNECT_TIMEOUT``, webhook_timeout
    ``INDEX_WEBHOOK_TIMEOUT`` (whole attempt), webhook_max_age ``INDEX_WEBHOOK_MAX_AGE``,
    webhook_retry_base/_max ``INDEX_WEBHOOK_RETRY_BASE/_MAX``, webhook_max_failures
    ``INDEX_WEBHOOK_MAX_FAILURES``, webhook_follow_redirects
    ``INDEX_WEBHOOK_FOLLOW_REDIRECTS``, webhook_worker_threads
    ``INDEX_WEBHOOK_WORKER_THREADS``; pull_limit_anonymous ``INDEX_PULL_LIMIT_ANONYMOUS``,
    pull_limit_authenticated ``INDEX_PULL_LIMIT_AUTHENTICATED`` (``<pulls>/<window>``, e.g.
    ``100/6h``; None: no limit, domain/pull_limits.py), pull_limit_exempt
    ``INDEX_PULL_LIMIT_EXEMPT`` (comma-separated user names); default_namespace_quota
    ``INDEX_DEFAULT_NAMESPACE_QUOTA`` (bytes; None: namespaces without a quota of their own
    have none); metrics ``INDEX_METRICS`` (serve ``GET /metrics``),
    metrics_token ``INDEX_METRICS_TOKEN`` (bearer token a scrape must send; None: open);
    signup ``INDEX_SIGNUP`` (who may create an account on ``/signup``: ``closed``, nobody,
    administrators create users and invitations; ``invite``, holders of an invitation link;
    ``open``, anyone).
    Durations are whole seconds.
    """

    database_url: str = field(repr=False)
    secret_key: str = field(repr=False)
    token_algorithm: str = "ES256"  # noqa: S105 - an algorithm name, not a secret
    token_issuer: str = "wharf-index"  # noqa: S105 - an issuer name, not a secret
    token_ttl: int = 300
    token_leeway: int = 60
    refresh_token_ttl: int = 30 * 24 * 3600
    public_url: str = "http://127.0.0.1:5001"
    default_visibility: str = "private"
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_connect_timeout: int = 5
    db_statement_timeout: int = 30
    db_pool_timeout: int = 10
    db_response_timeout: int = 5
    db_token_response_timeout: int = 2
    log_level: str = "INFO"
    log_format: str = "json"
    login_throttle_failures: int = 5
    login_throttle_delay: int = 2
    login_throttle_max_delay: int = 900
    password_scrypt_n: int = 1 << 15
    credential_cache_ttl: int = 60
    credential_cache_size: int = 1024
    max_page_size: int = 100
    bind: str = "127.0.0.1:5001"
    workers: int = 2
    threads: int = 8
    http_header_timeout: int = 20
    http_body_timeout: int = 60
    deletion_redrive_interval: int = 60
    trusted_proxies: int = 0
    prune_interval: int = 3600
    retention_interval: int = 3600
    event_retention: int = 7 * 24 * 3600
    prune_batch: int = 1000
    http_tls: tls.ServerTLS | None = None
    registry_tls_ca: str | None = None
    webhook_allowed_networks: tuple[Network, ...] = ()
    webhook_delivery_retention: int = 30 * 24 * 3600
    webhook_connect_timeout: int = 5
    webhook_timeout: int = 10
    webhook_max_age: int = 24 * 3600
    webhook_retry_base: int = 2
    webhook_retry_max: int = 3600
    webhook_max_failures: int = 20
    webhook_follow_redirects: int = 0
    webhook_worker_threads: int = 4
    pull_limit_anonymous: Rate | None = None
    pull_limit_authenticated: Rate | None = None
    pull_limit_exempt: tuple[str, ...] = ()
    default_namespace_quota: int | None = None
    metrics: bool = True
    metrics_token: str | None = field(default=None, repr=False)
    signup: str = "closed"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse ``environ`` (default ``os.environ``); raise ConfigError naming every bad one."""
        reader = _Reader(os.environ if environ is None else environ)
        values: dict[str, Any] = {
            "database_url": reader.get("INDEX_DATABASE_URL", _database_url, secret=True),
            "secret_key": reader.get("INDEX_SECRET_KEY", _secret_key, secret=True),
            "token_algorithm": reader.get(
                "INDEX_TOKEN_ALGORITHM", _choice(TOKEN_ALGORITHMS, str.upper), "ES256"
            ),
            "token_issuer": reader.get("INDEX_TOKEN_ISSUER", _nonempty, "wharf-index"),
            "public_url": reader.get("INDEX_PUBLIC_URL", _http_url, cls.public_url),
            "default_visibility": reader.get(
                "INDEX_DEFAULT_VISIBILITY", _choice(VISIBILITIES), "private"
            ),
            "log_level": reader.get("INDEX_LOG_LEVEL", _choice(LEVELS, str.upper), "INFO"),
            "log_format": reader.get("INDEX_LOG_FORMAT", _choice(FORMATS, str.lower), "json"),
            "bind": reader.get("INDEX_BIND", _bind, cls.bind),
            "password_scrypt_n": reader.get(
                "INDEX_PASSWORD_SCRYPT_N", _power_of_two, cls.password_scrypt_n
            ),
        }
        for name, env, minimum in _INTEGERS:
            values[name] = reader.get(env, _integer(minimum), getattr(cls, name))
        reader.problems.update({k: v for k, v in REMOVED.items() if reader.environ.get(k)})
        values["http_tls"], tls_problems = tls.server_tls_from_env(reader.environ, "INDEX_HTTP_TLS")
        values["registry_tls_ca"] = reader.get("INDEX_REGISTRY_TLS_CA", _ca_file, None)
        values["webhook_allowed_networks"] = reader.get(
            "INDEX_WEBHOOK_ALLOWED_NETWORKS", parse_networks, ()
        )
        for name, env in (
            ("pull_limit_anonymous", "INDEX_PULL_LIMIT_ANONYMOUS"),
            ("pull_limit_authenticated", "INDEX_PULL_LIMIT_AUTHENTICATED"),
        ):
            values[name] = reader.get(env, _rate, None)
        values["pull_limit_exempt"] = reader.get("INDEX_PULL_LIMIT_EXEMPT", _names, ())
        values["default_namespace_quota"] = reader.get(
            "INDEX_DEFAULT_NAMESPACE_QUOTA", _quota, None
        )
        reader.problems.update(tls_problems)
        values["metrics"] = reader.get("INDEX_METRICS", _boolean, True)
        values["metrics_token"] = reader.get("INDEX_METRICS_TOKEN", _nonempty, None, secret=True)
        values["signup"] = reader.get("INDEX_SIGNUP", _choice(SIGNUP_MODES, str.lower), "closed")
        for smaller, larger in _ORDERED:
            if reader.problems or values[smaller[0]] <= values[larger[0]]:
                continue
            reader.problems[smaller[1]] = f"must not exceed {larger[1]}"
        if reader.problems:
            raise ConfigError(reader.problems)
        return cls(**values)


_INTEGERS = (
    ("token_ttl", "INDEX_TOKEN_TTL", 1),
    ("token_leeway", "INDEX_TOKEN_LEEWAY", 0),
    ("refresh_token_ttl", "INDEX_REFRESH_TOKEN_TTL", 1),
    ("db_pool_min", "INDEX_DB_POOL_MIN", 0),
    ("db_pool_max", "INDEX_DB_POOL_MAX", 1),
    ("db_connect_timeout", "INDEX_DB_CONNECT_TIMEOUT", 1),
    ("db_statement_timeout", "INDEX_DB_STATEMENT_TIMEOUT", 0),
    ("db_pool_timeout", "INDEX_DB_POOL_TIMEOUT", 1),
    ("db_response_timeout", "INDEX_DB_RESPONSE_TIMEOUT", 1),
    ("db_token_response_timeout", "INDEX_DB_TOKEN_RESPONSE_TIMEOUT", 1),
    ("login_throttle_failures", "INDEX_LOGIN_THROTTLE_FAILURES", 1),
    ("login_throttle_delay", "INDEX_LOGIN_THROTTLE_DELAY", 0),
    ("login_throttle_max_delay", "INDEX_LOGIN_THROTTLE_MAX_DELAY", 0),
    ("credential_cache_ttl", "INDEX_CREDENTIAL_CACHE_TTL", 0),
    ("credential_cache_size", "INDEX_CREDENTIAL_CACHE_SIZE", 0),
    ("max_page_size", "INDEX_MAX_PAGE_SIZE", 1),
    ("workers", "INDEX_WORKERS", 1),
    ("threads", "INDEX_THREADS", 1),
    ("http_header_timeout", "INDEX_HTTP_HEADER_TIMEOUT", 1),
    ("http_body_timeout", "INDEX_HTTP_BODY_TIMEOUT", 1),
    ("deletion_redrive_interval", "INDEX_DELETION_REDRIVE_INTERVAL", 0),
    ("trusted_proxies", "INDEX_TRUSTED_PROXIES", 0),
    ("prune_interval", "INDEX_PRUNE_INTERVAL", 0),
    ("retention_interval", "INDEX_RETENTION_INTERVAL", 0),
    ("event_retention", "INDEX_EVENT_RETENTION", 3600),
    ("prune_batch", "INDEX_PRUNE_BATCH", 1),
    ("webhook_delivery_retention", "INDEX_WEBHOOK_DELIVERY_RETENTION", 3600),
    ("webhook_connect_timeout", "INDEX_WEBHOOK_CONNECT_TIMEOUT", 1),
    ("webhook_timeout", "INDEX_WEBHOOK_TIMEOUT", 1),
    ("webhook_max_age", "INDEX_WEBHOOK_MAX_AGE", 60),
    ("webhook_retry_base", "INDEX_WEBHOOK_RETRY_BASE", 1),
    ("webhook_retry_max", "INDEX_WEBHOOK_RETRY_MAX", 1),
    ("webhook_max_failures", "INDEX_WEBHOOK_MAX_FAILURES", 1),
    ("webhook_follow_redirects", "INDEX_WEBHOOK_FOLLOW_REDIRECTS", 0),
    ("webhook_worker_threads", "INDEX_WEBHOOK_WORKER_THREADS", 1),
)

# (field, variable) pairs where the first must not exceed the second.
_ORDERED = (
    (("db_pool_min", "INDEX_DB_POOL_MIN"), ("db_pool_max", "INDEX_DB_POOL_MAX")),
    (
        ("webhook_connect_timeout", "INDEX_WEBHOOK_CONNECT_TIMEOUT"),
        ("webhook_timeout", "INDEX_WEBHOOK_TIMEOUT"),
    ),
    (
        ("webhook_retry_base", "INDEX_WEBHOOK_RETRY_BASE"),
        ("webhook_retry_max", "INDEX_WEBHOOK_RETRY_MAX"),
    ),
)

_MISSING = object()


class _Reader:
    """Read variables (and their ``_FILE`` forms), recording problems instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: dict[str, str] = {}

    def get(
        self,
        name: str,
        parse: Callable[[str], Any],
        default: Any = _MISSING,
        *,
        secret: bool = False,
    ) -> Any:
        raw = self._raw(name, secret)
        if raw is None:
            if default is _MISSING and name not in self.problems:
                self.problems[name] = "is required"
            return None if default is _MISSING else default
        try:
            return parse(raw)
        except ValueError as exc:
            self.problems[name] = str(exc)
            return None

    def _raw(self, name: str, secret: bool) -> str | None:
        value = self.environ.get(name)
        path = self.environ.get(name + "_FILE") if secret else None
        if value is not None and path is not None:
            self.problems[name] = f"set either {name} or {name}_FILE, not both"
            return None
        if path is not None:
            try:
                with open(path, encoding="utf-8") as fh:
                    return fh.read().rstrip()
            except OSError as exc:
                self.problems[name + "_FILE"] = f"cannot read {path!r}: {exc.strerror}"
                return None
        if value is not None and value.strip() == "":
            return None
        return value


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"must be true or false, not {raw!r}")


def _nonempty(raw: str) -> str:
    return raw.strip()


def _database_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or parts.path):
        raise ValueError("must be a postgresql:// URL, e.g. postgresql://user@host:5432/wharf")
    return raw.strip()


def _secret_key(raw: str) -> str:
    if len(raw) < MIN_SECRET_LENGTH:
        raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters (use a random value)")
    return raw


def _http_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return raw.strip().rstrip("/")


def _ca_file(raw: str) -> str:
    if problem := tls.ca_file_problem(raw.strip()):
        raise ValueError(problem)
    return raw.strip()


def _quota(raw: str) -> int | None:
    if raw.strip().lower() == "none":
        return None
    return parse_size(raw)


def _bind(raw: str) -> str:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:5001")
    return raw.strip()


def _integer(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if value < minimum:
            raise ValueError(f"must be >= {minimum}, got {value}")
        return value

    return parse


_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd]?)\s*")
MAX_WINDOW = 366 * 86400


def _rate(raw: str) -> Rate:
    """``<pulls>/<window>``: ``100/6h``, ``200/21600`` (seconds), ``10/m`` (one minute)."""
    match = _RATE_RE.fullmatch(raw.lower())
    if match is None or not (match.group(2) or match.group(3)):
        raise ValueError(
            f"must be <pulls>/<window>, the window in seconds or with a unit s, m, h or d "
            f"(e.g. 100/6h), got {raw!r}"
        )
    pulls = int(match.group(1))
    window = int(match.group(2) or 1) * _WINDOW_UNITS[match.group(3) or "s"]
    if pulls < 1 or not 1 <= window <= MAX_WINDOW:
        raise ValueError(f"needs at least one pull and a window of 1 s to 366 d, got {raw!r}")
    return Rate(pulls, window)


def _names(raw: str) -> tuple[str, ...]:
    return tuple(sorted({name.strip() for name in raw.split(",") if name.strip()}))


def _power_of_two(raw: str) -> int:
    value = _integer(MIN_SCRYPT_N)(raw)
    if value & (value - 1):
        raise ValueError(f"must be a power of two, got {value}")
    return value


def _choice(choices: tuple[str, ...], norm: Callable[[str], str] = str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = norm(raw.strip())
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse
