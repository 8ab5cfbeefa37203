"""Gunicorn entry point: ``gunicorn wharf_index.wsgi:app``.

Reads the settings (ConfigError names every bad variable), configures logging, builds the
app. The database pool is created lazily in each worker, so this module is fork-safe.
Served Indexes (only these: not tests, not the CLI) also run the housekeeping thread
(services/housekeeping.py: deletion re-drive, pruning) that create_app built but did not
start; gunicorn imports this module in each worker (``preload_app`` is off), so each worker
has one, and the schedule in the database runs each task once per interval across them.
"""

from .app import create_app
from .context import EXTENSION
from .logconfig import configure_logging
from .settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_level, settings.log_format)
app = create_app(settings)
_housekeeper = app.extensions[EXTENSION].housekeeper
if _housekeeper is not None:
    _housekeeper.start()
