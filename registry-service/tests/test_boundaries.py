"""The Registry depends on wharf_protocol only, never on the Index."""

from wharf_testing import imported_modules


def test_registry_imports_nothing_of_the_index():
    loaded = imported_modules("wharf_registry", skip=("wharf_registry.wsgi",))
    assert "wharf_registry" in loaded
    assert "wharf_index" not in loaded
