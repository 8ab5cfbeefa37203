"""wharf_protocol stays free of web frameworks, servers, databases and cloud SDKs.

Only ``wharf_protocol.client`` may use requests (it makes the Registry -> Index calls), and
only ``wharf_protocol.serving`` gunicorn (the worker class of the services' gunicorn configs).
"""

from wharf_testing import imported_modules

FORBIDDEN = {
    "flask",
    "werkzeug",
    "psycopg2",
    "boto3",
    "botocore",
    "requests",
    "gunicorn",
    "wharf_index",
    "wharf_registry",
}
OPTIONAL = ("wharf_protocol.client", "wharf_protocol.serving")


def test_protocol_imports_no_framework_server_database_or_sdk():
    loaded = imported_modules("wharf_protocol", skip=OPTIONAL)
    assert "wharf_protocol" in loaded
    assert loaded & FORBIDDEN == set()


def test_only_the_client_module_brings_requests():
    loaded = imported_modules("wharf_protocol", skip=("wharf_protocol.serving",))
    assert "requests" in loaded
    assert loaded & (FORBIDDEN - {"requests"}) == set()


def test_only_the_serving_module_brings_gunicorn():
    loaded = imported_modules("wharf_protocol", skip=("wharf_protocol.client",))
    assert "gunicorn" in loaded
    assert loaded & (FORBIDDEN - {"gunicorn"}) == set()
