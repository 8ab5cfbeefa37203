"""wharf_protocol stays free of web frameworks, databases and cloud SDKs.

Only ``wharf_protocol.client`` may use requests (it makes the Registry -> Index calls).
"""

from wharf_testing import imported_modules

FORBIDDEN = {"flask", "werkzeug", "psycopg2", "boto3", "botocore", "requests", "wharf_index",
             "wharf_registry"}


def test_protocol_imports_no_framework_database_or_sdk():
    loaded = imported_modules("wharf_protocol", skip=("wharf_protocol.client",))
    assert "wharf_protocol" in loaded
    assert loaded & FORBIDDEN == set()


def test_only_the_client_module_brings_requests():
    loaded = imported_modules("wharf_protocol")
    assert "requests" in loaded
    assert loaded & (FORBIDDEN - {"requests"}) == set()
