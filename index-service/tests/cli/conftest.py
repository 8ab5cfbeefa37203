"""Every test in tests/db and tests/cli needs PostgreSQL: mark them ``db``.

- ``env``: the settings' variables of the test database; ``run(*argv, stdin="",
  environ=None)``: ``wharf-index`` in-process -> (code, out, err).
"""

import io
from types import SimpleNamespace

import pytest
from wharf_index import cli

from tests.conftest import SECRET_KEY


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/db/" in str(item.fspath) or "/tests/cli/" in str(item.fspath):
            item.add_marker(pytest.mark.db)


@pytest.fixture
def env(db_url):
    return {
        "INDEX_DATABASE_URL": db_url,
        "INDEX_SECRET_KEY": SECRET_KEY,
        "INDEX_PASSWORD_SCRYPT_N": "1024",
    }


@pytest.fixture
def run(env):
    def run(*argv, stdin="", environ=None):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(
            list(argv),
            environ=env if environ is None else environ,
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
        )
        return SimpleNamespace(code=code, out=out.getvalue(), err=err.getvalue())

    return run
