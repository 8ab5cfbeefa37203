"""Gunicorn entry point: ``gunicorn wharf_registry.wsgi:app``.

Reads the settings (ConfigError names every bad variable), configures logging, builds the
app, so the JSON log format and the redaction filter apply however gunicorn was started.
"""

from .app import create_app
from .logconfig import configure_logging
from .settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level, settings.log_format)
app = create_app(settings)
