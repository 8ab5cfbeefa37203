"""The reference registry's (distribution's) configuration names, as Wharf reads them.

``wharf-registry serve --config config.yml`` reads distribution's YAML layout (its
documentation, "Configuring a registry"): the key path upper-cased and joined by ``_``
under ``REGISTRY`` is the variable, the way distribution's own environment overrides are
named, and those variables are Wharf's settings wherever Wharf has the setting under the
same name (``storage.filesystem.rootdirectory`` is ``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY``
in both). This module lists only the differences, applied to the file and to the
environment alike (:class:`wharf_protocol.config.Dialect`):

- ``RENAMED``: distribution's variable -> Wharf's, where Wharf's name differs;
- ``UNSUPPORTED``: distribution's settings Wharf does not have (reported at start, ignored;
  an error with ``--strict``), each with the reason;
- ``IGNORED``: accepted and not needed (``version``; ``http.secret``, since upload state
  lives in storage and no secret is shared between replicas);
- ``CHOICES``: ``storage`` and ``auth`` name the driver and the access controller by their
  one key (``storage: {s3: {...}}`` is ``REGISTRY_STORAGE=s3``);
- ``WHOLE``: ``notifications.endpoints`` becomes REGISTRY_NOTIFICATIONS_ENDPOINTS, the list
  as one JSON value (:mod:`wharf_registry.endpoints_config` reads distribution's fields);
- :func:`finish`: ``storage.s3.secure`` (the scheme of an endpoint given without one).

The registry-service README's "Distribution's configuration" table says the same per key.
"""

from __future__ import annotations

from wharf_protocol.config import Dialect

PREFIX = "REGISTRY"

# fmt: off
RENAMED = {
    "REGISTRY_STORAGE_S3_REGIONENDPOINT": "REGISTRY_STORAGE_S3_ENDPOINT_URL",
    "REGISTRY_STORAGE_S3_ROOTDIRECTORY": "REGISTRY_STORAGE_S3_PREFIX",
    "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED": "REGISTRY_READONLY",
    "REGISTRY_LOG_FORMATTER": "REGISTRY_LOG_FORMAT",
    "REGISTRY_LOGLEVEL": "REGISTRY_LOG_LEVEL",  # distribution's deprecated top-level key
}

_NO_S3 = "the s3 driver of Wharf has no such parameter"
UNSUPPORTED = {
    "REGISTRY_LOG_ACCESSLOG": "access lines always go to stdout (gunicorn's access log)",
    "REGISTRY_LOG_FIELDS": "no extra log fields",
    "REGISTRY_LOG_HOOKS": "no log hooks",
    "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS": "no limit on filesystem threads",
    "REGISTRY_STORAGE_AZURE": "no azure driver",
    "REGISTRY_STORAGE_GCS": "no gcs driver",
    "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": "path style is used whenever regionendpoint is set",
    "REGISTRY_STORAGE_S3_ACCELERATE": _NO_S3,
    "REGISTRY_STORAGE_S3_ENCRYPT": _NO_S3,
    "REGISTRY_STORAGE_S3_KEYID": _NO_S3,
    "REGISTRY_STORAGE_S3_V4AUTH": "signature version 4 is always used",
    "REGISTRY_STORAGE_S3_MULTIPARTCOPYCHUNKSIZE": _NO_S3,
    "REGISTRY_STORAGE_S3_MULTIPARTCOPYMAXCONCURRENCY": _NO_S3,
    "REGISTRY_STORAGE_S3_MULTIPARTCOPYTHRESHOLDSIZE": _NO_S3,
    "REGISTRY_STORAGE_S3_USEDUALSTACK": _NO_S3,
    "REGISTRY_STORAGE_S3_LOGLEVEL": _NO_S3,
    "REGISTRY_STORAGE_S3_STORAGECLASS": _NO_S3,
    "REGISTRY_STORAGE_S3_OBJECTACL": _NO_S3,
    "REGISTRY_STORAGE_S3_SKIPVERIFY": _NO_S3,
    "REGISTRY_STORAGE_S3_SESSIONTOKEN": _NO_S3,
    "REGISTRY_STORAGE_TAG": "no tag lookup concurrency setting",
    "REGISTRY_STORAGE_CACHE": "no blob descriptor cache",
    "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING": "no upload purging",
    "REGISTRY_AUTH_SILLY": "no silly access controller",
    "REGISTRY_AUTH_TOKEN_AUTOREDIRECT": "no automatic realm",
    "REGISTRY_AUTH_TOKEN_AUTOREDIRECTPATH": "no automatic realm",
    "REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS": "the algorithms are fixed",
    "REGISTRY_MIDDLEWARE": "no middleware",
    "REGISTRY_HTTP_NET": "TCP only",
    "REGISTRY_HTTP_PREFIX": "served at the root path only",
    "REGISTRY_HTTP_RELATIVEURLS": "URLs are relative unless http.host is set",
    "REGISTRY_HTTP_DRAINTIMEOUT": "gunicorn drains for 60 s",
    "REGISTRY_HTTP_TLS_CLIENTAUTH": "no client certificate policy",
    "REGISTRY_HTTP_TLS_MINIMUMTLS": "no TLS version setting",
    "REGISTRY_HTTP_TLS_CIPHERSUITES": "no cipher suite setting",
    "REGISTRY_HTTP_TLS_LETSENCRYPT": "no Let's Encrypt client",
    "REGISTRY_HTTP_DEBUG": "no debug server; metrics are at /metrics (REGISTRY_METRICS)",
    "REGISTRY_HTTP_HEADERS": "no extra response headers",
    "REGISTRY_HTTP_HTTP2": "HTTP/1.1 only",
    "REGISTRY_HTTP_H2C": "HTTP/1.1 only",
    "REGISTRY_REDIS": "nothing is cached in redis",
    "REGISTRY_HEALTH": "GET /healthz (liveness) and GET /readyz (storage) instead",
    "REGISTRY_PROXY_EXEC": "no credential helper: give username and password",
    "REGISTRY_REPORTING": "no error reporting service",
    "REGISTRY_VALIDATION_ENABLED": "validation is always on",
    "REGISTRY_VALIDATION_DISABLED": "validation is always on",
    "REGISTRY_VALIDATION_MANIFESTS_URLS": "foreign layer URLs are not filtered",
    "REGISTRY_VALIDATION_MANIFESTS_INDEXES": "index platforms are not checked",
}
# fmt: on

IGNORED = frozenset({"REGISTRY_VERSION", "REGISTRY_HTTP_SECRET"})

# Sections kept as one JSON value: ``notifications.endpoints`` (a list of endpoints whose
# header names and values must survive as written) is REGISTRY_NOTIFICATIONS_ENDPOINTS;
# ``proxy.upstreams`` (Wharf's list of mirrored registries) is REGISTRY_PROXY_UPSTREAMS.
WHOLE = frozenset({"REGISTRY_NOTIFICATIONS_ENDPOINTS", "REGISTRY_PROXY_UPSTREAMS"})

# Keys of these sections that are settings; the one other key is the driver/controller.
CHOICES = {
    "REGISTRY_STORAGE": frozenset({"delete", "redirect", "cache", "maintenance", "tag"}),
    "REGISTRY_AUTH": frozenset(),
}

SECURE = "REGISTRY_STORAGE_S3_SECURE"
ENDPOINT = "REGISTRY_STORAGE_S3_ENDPOINT_URL"
REFERENCES = "REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES"


def finish(env: dict[str, str]) -> list[tuple[str, str]]:
    """Apply ``storage.s3.secure`` (default true): the scheme of a schemeless endpoint; accept
    ``notifications.events.includereferences: true`` (what Wharf always does).

    An endpoint with a scheme keeps it (as distribution does); ``secure: false`` without an
    endpoint would mean plain HTTP to AWS, which Wharf does not do: reported. So is
    ``includereferences: false``: manifest events always carry their references.
    """
    found = []
    references = env.pop(REFERENCES, None)
    if references is not None and references.strip().lower() not in ("true", "1", "yes", "on"):
        found.append(
            (REFERENCES, "not supported (manifest events always carry references), ignored")
        )
    secure = env.pop(SECURE, None)
    if secure is None:
        return found
    plain = secure.strip().lower() in ("false", "0", "no", "off")
    endpoint = env.get(ENDPOINT)
    if endpoint and "://" not in endpoint:
        env[ENDPOINT] = f"{'http' if plain else 'https'}://{endpoint}"
    elif plain and not endpoint:
        found.append(
            (SECURE, "not supported without regionendpoint (AWS is always HTTPS), ignored")
        )
    return found


DISTRIBUTION = Dialect(
    renamed=RENAMED,
    unsupported=UNSUPPORTED,
    ignored=IGNORED,
    choices=CHOICES,
    whole=WHOLE,
    finish=finish,
)
