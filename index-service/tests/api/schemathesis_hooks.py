"""Schemathesis hooks for test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

The guard: a request that would change the protected account (the administrator the run
signs in as: delete it, disable or demote it, set its password) targets the stand-in user
instead. ``before_call`` runs before every request schemathesis sends, in every phase and
for the checks' own follow-up requests, so nothing slips past it.
"""

from __future__ import annotations

import os

import schemathesis

PROTECTED = os.environ["WHARF_PROTECTED_USER"]
STAND_IN = os.environ["WHARF_STAND_IN_USER"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    parameters = case.path_parameters
    if (
        case.method.upper() not in SAFE_METHODS
        and isinstance(parameters, dict)
        and str(parameters.get("username", "")).strip("/ ") == PROTECTED
    ):
        parameters["username"] = STAND_IN
