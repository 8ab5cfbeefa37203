"""What the Wharf Index and Registry speak to each other and to clients.

Pure values and functions: no Flask, no database, no network server. The only module that
performs I/O is :mod:`wharf_protocol.client` (the Registry -> Index calls, on requests).
"""

__version__ = "0.1.0"

#: Bumped on any breaking change of tokens, events or the verification API.
PROTOCOL_VERSION = 1
