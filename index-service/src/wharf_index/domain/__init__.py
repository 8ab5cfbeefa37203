"""The Index's domain: dataclasses, errors and the access policy (no Flask, no SQL)."""
