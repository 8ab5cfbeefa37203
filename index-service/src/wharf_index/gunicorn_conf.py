"""Gunicorn configuration used by ``wharf-index serve`` (``-c python:wharf_index.gunicorn_conf``).

gthread workers (threads suit an I/O-bound app on a connection pool), logs to stdout in the
Index's format (``INDEX_LOG_FORMAT``), no ``preload_app`` (the psycopg2 pool must be created in
each worker, never inherited across fork). Bind, workers and threads come from the command
line (``serve`` passes them).
"""

import os

from wharf_index.logconfig import logging_config

worker_class = "gthread"
accesslog = "-"
errorlog = "-"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 10000
max_requests_jitter = 1000
preload_app = False
logconfig_dict = logging_config(
    os.environ.get("INDEX_LOG_LEVEL", "INFO"), os.environ.get("INDEX_LOG_FORMAT", "json").lower()
)
