"""Adapters: the PostgreSQL pool (db), migrations, and one SQL store per aggregate.

SQL lives only here. Stores take an open connection (the unit of work's) and return
domain dataclasses from :mod:`wharf_index.domain.model`, never cursor rows.
"""
