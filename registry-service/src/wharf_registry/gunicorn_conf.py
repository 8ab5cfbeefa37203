"""Gunicorn settings for the Registry: ``gunicorn -c python:wharf_registry.gunicorn_conf``.

``wharf-registry serve`` uses this module and passes ``--bind``/``--workers``/``--threads``/
``--timeout`` on the command line (which gunicorn lets override the values here).

- Threaded workers (:class:`wharf_protocol.serving.HeadFirstWorker`, gunicorn's ``gthread``
  reading request heads in its event loop): a sync worker is killed when one request
  outlives ``timeout``, which a multi-GiB blob upload does; here the event loop keeps
  notifying the master while threads stream bodies, so ``timeout`` only catches a stuck
  worker. Heads that trickle in hold no thread (408 after REGISTRY_HTTP_HEADER_TIMEOUT);
  requests with a body (uploads) run on their own ``threads`` threads, so stalled uploads
  (dropped after REGISTRY_HTTP_BODY_TIMEOUT) never hold up pulls and health checks.
- Limits: request line 8190 bytes (Docker's token requests repeat ``scope=``), 100 header
  fields of at most 8190 bytes, 64 KiB of head in all; refused requests (400/408/414/431)
  get the OCI error envelope (``api.errors.refused_request_body``), not an HTML page.
- HTTPS with REGISTRY_HTTP_TLS_CERTIFICATE/_KEY (TLS >= 1.2, client certificates required
  with REGISTRY_HTTP_TLS_CLIENTCAS): the worker does the handshake in its event loop too.
- ``keepalive`` long enough for clients that reuse connections between layer requests.
- Access and error logs to stdout through :mod:`wharf_registry.logconfig` (JSON by default,
  ``REGISTRY_LOG_FORMAT``/``REGISTRY_LOG_LEVEL``), each access line with the request id the
  app echoes in ``X-Request-ID``.
- No ``preload_app``: each worker builds its app (and storage clients) after the fork.
- Prometheus multiprocess mode (:mod:`wharf_protocol.metrics`): the master empties or makes
  ``PROMETHEUS_MULTIPROC_DIR`` before workers fork (``on_starting``), marks exited workers
  dead (``child_exit``) and removes a directory it made (``on_exit``), so ``GET /metrics``
  in any worker answers for all of them.
"""

from __future__ import annotations

import os

from wharf_protocol import metrics, serving

from wharf_registry.api.errors import refused_request_body
from wharf_registry.app import API_VERSION
from wharf_registry.logconfig import logging_config
from wharf_registry.settings import ConfigError, Settings

DEFAULT_WORKERS = 2
DEFAULT_THREADS = 16
DEFAULT_TIMEOUT = 600

try:
    _settings = Settings.from_env()
except ConfigError:  # plain gunicorn with bad variables: the app names them when it starts
    _settings = Settings()

worker_class = serving.worker_class(
    refused_request_body,
    header_timeout=_settings.http_header_timeout,
    io_timeout=_settings.http_body_timeout,
    error_headers={"Docker-Distribution-API-Version": API_VERSION},
    name="RegistryWorker",
)
# HTTPS when REGISTRY_HTTP_TLS_CERTIFICATE/_KEY are set (the worker handshakes in its loop).
certfile, keyfile, ssl_context = serving.tls_config(_settings.http_tls)
limit_request_line = serving.LIMIT_REQUEST_LINE
limit_request_fields = serving.LIMIT_REQUEST_FIELDS
limit_request_field_size = serving.LIMIT_REQUEST_FIELD_SIZE
workers = DEFAULT_WORKERS
threads = DEFAULT_THREADS
timeout = DEFAULT_TIMEOUT
graceful_timeout = 60
keepalive = 75
worker_connections = 1000
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "wharf-registry"
# gunicorn >= 24 opens a control socket at one per-user path by default; several registries
# on one host would fight over it, and nothing here uses it.
control_socket_disable = True

# on_starting, child_exit, on_exit: the metrics directory shared by the workers
globals().update(metrics.gunicorn_hooks())

loglevel = _settings.log_level.lower()
# Settings.from_env has already refused bad values when started by ``wharf-registry serve``;
# under plain gunicorn bad values fall back to the defaults here and the app refuses them.
logconfig_dict = logging_config(_settings.log_level, _settings.log_format)
