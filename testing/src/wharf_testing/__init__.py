"""Wharf's test harness, installed as a pytest plugin (``wharf_testing.plugin``).

Fixtures: a throwaway PostgreSQL (:mod:`.postgres`), moto's standalone S3 server
(:mod:`.s3`), services under gunicorn (:mod:`.services`); helpers: :func:`free_port`,
:func:`imported_modules` for the package-boundary tests, slow and malformed clients
(:mod:`.misbehaving`).
"""

from .boundaries import imported_modules
from .ports import free_port

__all__ = ["free_port", "imported_modules"]
