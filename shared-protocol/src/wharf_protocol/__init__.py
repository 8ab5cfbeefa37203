"""What the Wharf Index and Registry speak to each other and to clients.

Pure values and functions: no Flask, no database, no network server. The only module that
performs I/O is :mod:`wharf_protocol.client` (the Registry -> Index calls, on requests).
"""

from importlib.metadata import version

__version__ = "0.1.0"

#: Bumped on any breaking change of tokens, events or the verification API.
PROTOCOL_VERSION = 1


def version_line(distribution: str) -> str:
    """Return ``<distribution> X (wharf-protocol Y)`` from the installed metadata: what a
    service's ``--version`` prints."""
    return f"{distribution} {version(distribution)} (wharf-protocol {version('wharf-protocol')})"
