"""Schemathesis hooks for test_schemathesis.py (loaded through ``SCHEMATHESIS_HOOKS``).

The guards: webhook URLs get a host name (below), and a request that would change the
protected account (the administrator the run signs in as: delete it, disable or demote it,
set its password) targets the stand-in user instead. ``before_call`` runs before every
request schemathesis sends, in every phase and for the checks' own follow-up requests, so
nothing slips past it.
"""

from __future__ import annotations

import os
import re

import schemathesis

PROTECTED = os.environ["WHARF_PROTECTED_USER"]
STAND_IN = os.environ["WHARF_STAND_IN_USER"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    _name_webhook_hosts(case)
    parameters = case.path_parameters
    if (
        case.method.upper() not in SAFE_METHODS
        and isinstance(parameters, dict)
        and str(parameters.get("username", "")).strip("/ ") == PROTECTED
    ):
        parameters["username"] = STAND_IN


# A webhook URL whose host is an address literal or a local name is refused or taken
# depending on INDEX_WEBHOOK_ALLOWED_NETWORKS (domain/webhook_targets.py), a setting the
# OpenAPI document cannot express: such generated URLs get a host the rule always allows.
_LITERAL_HOST = re.compile(
    r"^(https?://)(\[[^\]]*\]|[0-9.]+|localhost|[^/?#:]*\.localhost)(?=[:/?#]|$)", re.IGNORECASE
)


def _name_webhook_hosts(case) -> None:
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("url"), str):
        body["url"] = _LITERAL_HOST.sub(r"\1hooks.example.com", body["url"], count=1)
