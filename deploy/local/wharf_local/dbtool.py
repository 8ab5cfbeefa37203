"""Run by the virtualenv's python (it has psycopg2): wait for PostgreSQL, ensure a database.

    WHARF_UP_DB_URL=postgresql://... python dbtool.py ensure DBNAME TIMEOUT

Connects to the ``postgres`` maintenance database of that server, retrying until TIMEOUT
seconds have passed (the server may still be starting or recovering), then creates DBNAME
(owned by the connecting user) unless it exists. The URL comes from the environment, not
the command line, so that its password does not show in ``ps``. Exit 0 ok, 1 failure.
"""

from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql


def _connect(url: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg2.connect(url, connect_timeout=3)
        except psycopg2.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise SystemExit(f"PostgreSQL did not accept connections: {exc}".strip()) from exc
            time.sleep(0.2)


def ensure(url: str, dbname: str, timeout: float) -> None:
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    conn = _connect(maintenance, timeout)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
                print(f"created database {dbname}")
    finally:
        conn.close()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "ensure":
        raise SystemExit("usage: dbtool.py ensure DBNAME TIMEOUT")
    ensure(os.environ["WHARF_UP_DB_URL"], sys.argv[2], float(sys.argv[3]))
