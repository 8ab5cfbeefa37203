"""The Index depends on wharf_protocol only, never on the Registry."""

from wharf_testing import imported_modules


def test_index_imports_nothing_of_the_registry():
    loaded = imported_modules("wharf_index", skip=("wharf_index.wsgi",))
    assert "wharf_index" in loaded
    assert "wharf_registry" not in loaded
