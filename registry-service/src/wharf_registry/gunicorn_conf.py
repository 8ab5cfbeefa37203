"""Gunicorn settings for the Registry: ``gunicorn -c python:wharf_registry.gunicorn_conf``.

``wharf-registry serve`` uses this module and passes ``--bind``/``--workers``/``--threads``/
``--timeout`` on the command line (which gunicorn lets override the values here).

- ``gthread`` workers: a sync worker is killed when one request outlives ``timeout``, which
  a multi-GiB blob upload does; in a gthread worker the main loop keeps notifying the master
  while threads stream bodies, so ``timeout`` only catches a stuck worker.
- ``keepalive`` long enough for clients that reuse connections between layer requests.
- Access and error logs to stdout through :mod:`wharf_registry.logconfig` (JSON by default,
  ``REGISTRY_LOG_FORMAT``/``REGISTRY_LOG_LEVEL``), each access line with the request id the
  app echoes in ``X-Request-ID``.
- No ``preload_app``: each worker builds its app (and storage clients) after the fork.
"""

from __future__ import annotations

import os

from wharf_registry.logconfig import FORMATS, logging_config

DEFAULT_WORKERS = 2
DEFAULT_THREADS = 16
DEFAULT_TIMEOUT = 600

worker_class = "gthread"
workers = DEFAULT_WORKERS
threads = DEFAULT_THREADS
timeout = DEFAULT_TIMEOUT
graceful_timeout = 60
keepalive = 75
worker_connections = 1000
accesslog = "-"
errorlog = "-"
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "wharf-registry"
# gunicorn >= 24 opens a control socket at one per-user path by default; several registries
# on one host would fight over it, and nothing here uses it.
control_socket_disable = True

_level = (os.environ.get("REGISTRY_LOG_LEVEL") or "INFO").upper()
_fmt = (os.environ.get("REGISTRY_LOG_FORMAT") or "json").lower()
loglevel = _level.lower()
# Settings.from_env has already refused bad values when started by ``wharf-registry serve``;
# under plain gunicorn an invalid value falls back to the defaults here and the app refuses it.
logconfig_dict = logging_config(
    _level if _level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO",
    _fmt if _fmt in FORMATS else "json",
)
