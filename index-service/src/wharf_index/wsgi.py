"""Gunicorn entry point: ``gunicorn wharf_index.wsgi:app``."""

from . import create_app

app = create_app()
