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
    REGISTRY_AUTH                          none | htpasswd (token: later)    [none]
    REGISTRY_AUTH_HTPASSWD_PATH            bcrypt htpasswd file; required for htpasswd
    REGISTRY_AUTH_HTPASSWD_REALM           realm of the Basic challenge      [wharf-registry]
    REGISTRY_HTTP_ADDR                     bind address of ``serve``         [0.0.0.0:5000]
    REGISTRY_HTTP_HOST                     public base URL for Location headers [relative]
    REGISTRY_LOG_LEVEL                     DEBUG | INFO | WARNING | ERROR | CRITICAL [INFO]
    REGISTRY_LOG_FORMAT                    json | text                       [json]
    REGISTRY_VALIDATION_MANIFESTS_MAXSIZE  largest manifest in bytes (413)   [4194304]
    REGISTRY_VALIDATION_NAME_MAXLENGTH     longest repository name, <= 255   [255]
    REGISTRY_CATALOG_MAXENTRIES            largest (and default) _catalog page [1000]
    REGISTRY_TAGS_MAXENTRIES               largest (and default) tags page   [10000]
    REGISTRY_READONLY                      true: refuse pushes and deletes (405) [false]

The filesystem root defaults to ``/var/lib/registry``, the reference registry's default, so
that both can serve the same directory (the layout is the same, see ``content/paths.py``).
Booleans accept true/false, 1/0, yes/no, on/off (any case).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["ConfigError", "Settings"]

DRIVERS = ("filesystem", "s3", "inmemory")
AUTH_BACKENDS = ("none", "htpasswd")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
DEFAULT_ROOTDIRECTORY = "/var/lib/registry"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


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
    auth: str = "none"
    htpasswd_path: str | None = None
    htpasswd_realm: str = "wharf-registry"
    # noqa reason: a registry listens on every interface by default, like distribution's :5000
    http_addr: str = "0.0.0.0:5000"  # noqa: S104
    http_host: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    manifest_max_size: int = 4 * 1024 * 1024
    max_name_length: int = 255
    catalog_max_entries: int = 1000
    tags_max_entries: int = 10000
    read_only: bool = False

    def __post_init__(self) -> None:
        if self.storage_driver == "filesystem" and "rootdirectory" not in self.storage_params:
            params = {**self.storage_params, "rootdirectory": DEFAULT_ROOTDIRECTORY}
            object.__setattr__(self, "storage_params", params)

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
            auth=auth,
            htpasswd_path=htpasswd_path,
            htpasswd_realm=env.get("REGISTRY_AUTH_HTPASSWD_REALM") or "wharf-registry",
            http_addr=env.get("REGISTRY_HTTP_ADDR") or cls.http_addr,
            http_host=parser.url("REGISTRY_HTTP_HOST"),
            log_level=parser.choice("REGISTRY_LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
            log_format=parser.choice("REGISTRY_LOG_FORMAT", LOG_FORMATS, "json"),
            manifest_max_size=parser.integer("REGISTRY_VALIDATION_MANIFESTS_MAXSIZE", 4 << 20),
            max_name_length=parser.integer("REGISTRY_VALIDATION_NAME_MAXLENGTH", 255, high=255),
            catalog_max_entries=parser.integer("REGISTRY_CATALOG_MAXENTRIES", 1000),
            tags_max_entries=parser.integer("REGISTRY_TAGS_MAXENTRIES", 10000),
            read_only=parser.boolean("REGISTRY_READONLY", False),
        )
        if parser.problems:
            raise ConfigError(parser.problems)
        return settings

    def location(self, path: str) -> str:
        """Return ``path`` made absolute with REGISTRY_HTTP_HOST when set, else unchanged."""
        return f"{self.http_host}{path}" if self.http_host else path


def _driver_params(env: Mapping[str, str], driver: str) -> dict[str, str]:
    prefix = f"REGISTRY_STORAGE_{driver.upper()}_"
    return {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}


class _Parser:
    """Coerce variables, collecting a problem per bad one instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def choice(self, name: str, allowed: tuple[str, ...], default: str, upper: bool = False) -> str:
        raw = self.env.get(name) or default
        value = raw.upper() if upper else raw.lower()
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

    def integer(self, name: str, default: int, high: int | None = None) -> int:
        raw = self.env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}: {raw!r} is not an integer")
            return default
        if value < 1 or (high is not None and value > high):
            bound = f"between 1 and {high}" if high is not None else "at least 1"
            self.problems.append(f"{name}: {value} must be {bound}")
            return default
        return value

    def url(self, name: str) -> str | None:
        raw = self.env.get(name)
        if not raw:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            self.problems.append(f"{name}: {raw!r} is not an http(s) base URL")
            return None
        return raw.rstrip("/")
