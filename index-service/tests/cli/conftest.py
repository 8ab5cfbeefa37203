"""Every test in tests/db needs PostgreSQL: mark them ``db``."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/db/" in str(item.fspath) or "/tests/cli/" in str(item.fspath):
            item.add_marker(pytest.mark.db)
