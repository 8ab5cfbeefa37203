"""Gunicorn entry point: ``gunicorn wharf_index.wsgi:app``.

Reads the settings (ConfigError names every bad variable), configures logging, builds the
app. The database pool is created lazily in each worker, so this module is fork-safe.
Served Indexes (only these: not tests, not the CLI) also run the deletion re-drive thread
(services/deletion.py, ``INDEX_DELETION_REDRIVE_INTERVAL``); gunicorn imports this module
in each worker (``preload_app`` is off), so each worker has one.
"""

from .app import create_app
from .context import EXTENSION
from .logconfig import configure_logging
from .services.deletion import start_redriver
from .settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level, settings.log_format)
app = create_app(settings)
start_redriver(app.extensions[EXTENSION])
