"""Gunicorn configuration used by ``wharf-index serve`` (``-c python:wharf_index.gunicorn_conf``).

Threaded workers (threads suit an I/O-bound app on a connection pool): gunicorn's gthread
reading request heads in its event loop (:class:`wharf_protocol.serving.HeadFirstWorker`), so
clients that trickle their heads hold no thread (408 after INDEX_HTTP_HEADER_TIMEOUT),
requests with a body run on threads of their own, and a request's socket may stall for
INDEX_HTTP_BODY_TIMEOUT at most. HTTPS with INDEX_HTTP_TLS_CERTIFICATE/_KEY (TLS >= 1.2,
client certificates required with INDEX_HTTP_TLS_CLIENTCAS), handshakes in the event loop
too. Limits: request line 8190 bytes (Docker's token requests
repeat ``scope=`` once per repository), 100 header fields of at most 8190 bytes, 64 KiB of
head in all; refused requests (400/408/414/431) get the Index's JSON error body
(``api.errors.refused_request_body``). Logs to stdout in the Index's format
(``INDEX_LOG_FORMAT``), no ``preload_app`` (the psycopg2 pool must be created in each
worker, never inherited across fork), no control socket (gunicorn >= 25 would create one
under ``$HOME/.gunicorn/``; nothing uses it). Bind, workers and threads come from the
command line (``serve`` passes them). Prometheus multiprocess mode
(:mod:`wharf_protocol.metrics`): the master empties or makes ``PROMETHEUS_MULTIPROC_DIR``
before workers fork, marks exited workers dead and removes a directory it made, so
``GET /metrics`` in any worker answers for all of them.
"""

import os

from wharf_protocol import metrics, serving

from wharf_index.api.errors import refused_request_body
from wharf_index.logconfig import logging_config
from wharf_index.settings import ConfigError, Settings

try:
    _timeouts = Settings.from_env()
    _header_timeout, _body_timeout = _timeouts.http_header_timeout, _timeouts.http_body_timeout
    _tls = _timeouts.http_tls
except ConfigError:  # plain gunicorn with bad variables: the app names them when it starts
    _header_timeout, _body_timeout = Settings.http_header_timeout, Settings.http_body_timeout
    _tls = None

worker_class = serving.worker_class(
    refused_request_body,
    header_timeout=_header_timeout,
    io_timeout=_body_timeout,
    name="IndexWorker",
)
# HTTPS when INDEX_HTTP_TLS_CERTIFICATE/_KEY are set (the worker handshakes in its loop).
certfile, keyfile, ssl_context = serving.tls_config(_tls)
limit_request_line = serving.LIMIT_REQUEST_LINE
limit_request_fields = serving.LIMIT_REQUEST_FIELDS
limit_request_field_size = serving.LIMIT_REQUEST_FIELD_SIZE
accesslog = "-"
errorlog = "-"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 10000
max_requests_jitter = 1000
preload_app = False
control_socket_disable = True
# on_starting, child_exit, on_exit: the metrics directory shared by the workers
globals().update(metrics.gunicorn_hooks())
logconfig_dict = logging_config(
    os.environ.get("INDEX_LOG_LEVEL", "INFO"), os.environ.get("INDEX_LOG_FORMAT", "json").lower()
)
