"""Gunicorn entry point: ``gunicorn wharf_registry.wsgi:app``."""

from . import create_app

app = create_app()
