"""The HTTP edge: blueprint ``v2`` (mounted at ``/v2``), one module per resource.

Endpoints (OCI distribution spec v1.1, "Endpoints"): ``base`` end-1; ``blobs`` end-2, end-10;
``uploads`` end-4a/4b, end-5, end-6, end-11, end-13 and cancel; ``manifests`` end-3,
end-7, end-9; ``tags`` end-8a/8b; ``referrers`` end-12a/12b; ``catalog`` (``_catalog``);
``repositories`` (Wharf's repository delete, ``/v2/_wharf/repositories/<name>``).
Views are thin: parse, call ``content``, build the response; they raise domain errors and
``api/errors.py`` turns them into the spec's envelopes.
"""

from flask import Blueprint

bp = Blueprint("v2", __name__)

from . import (  # noqa: E402, F401 - routes register on import
    base,
    blobs,
    catalog,
    manifests,
    referrers,
    repositories,
    tags,
    uploads,
)
