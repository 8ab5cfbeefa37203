"""Adapters: the PostgreSQL pool (db), migrations, the unit of work with one SQL store per
aggregate, and the HTTP client for registries.

SQL and outside clients live only here. The unit of work, its stores and the registry
client implement the ports the services depend on (services/unit_of_work.py,
domain/stores.py, domain/repository_stores.py, domain/registry_client.py). Stores take an
open connection (the unit of work's) and return domain values (domain/model.py,
domain/records.py), never cursor rows. The composition root (context.py) builds them; the
services, the domain and the API never import this package (a test reads their imports).
"""
