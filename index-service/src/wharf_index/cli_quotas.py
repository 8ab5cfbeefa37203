"""``wharf-index namespace quota NS [SIZE|none|default]``: storage quotas (wired into cli.py).

Without SIZE: print the namespace's quota and use. ``SIZE`` (``10GiB``, ``500MiB``, a number
of bytes: :func:`wharf_protocol.sizes.parse_size`) chooses a quota, ``none`` chooses none
(whatever INDEX_DEFAULT_NAMESPACE_QUOTA says), ``default`` forgets the choice (the default
applies again). As the administrator ``wharf-index``; audited like the API's
``PUT``/``DELETE /api/v1/namespaces/NS/quota`` (services/quotas.py).
"""

from __future__ import annotations

import argparse

from wharf_protocol.sizes import format_size, parse_size

from .domain.model import SYSTEM
from .services import quotas


def add_parsers(sub) -> None:
    """Add ``namespace quota`` to the commands."""
    namespace = sub.add_parser("namespace", help="namespace administration").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    quota = namespace.add_parser(
        "quota", help="show a namespace's storage quota and use, or set it"
    )
    quota.add_argument("namespace")
    quota.add_argument(
        "size",
        nargs="?",
        type=_size,
        help="bytes or a size like 10GiB; 'none': no quota; 'default': the Index's default",
    )


def _size(text: str) -> int | str:
    if text.strip().lower() in ("none", "default"):
        return text.strip().lower()
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def describe(quota: quotas.Quota) -> str:
    """One line: ``acme: 1.2 GiB of 10 GiB used (1288490189 of 10737418240 bytes)``."""
    source = " (the default)" if quota.default and quota.limit is not None else ""
    if quota.limit is None:
        return f"{quota.namespace}: {format_size(quota.used)} used ({quota.used} bytes), no quota"
    return (
        f"{quota.namespace}: {format_size(quota.used)} of {format_size(quota.limit)} used"
        f" ({quota.used} of {quota.limit} bytes){source}"
    )


def quota(uow, args, stdin, stdout):
    if args.size is None:
        found = quotas.get_quota(uow, SYSTEM, args.namespace)
    elif args.size == "default":
        found = quotas.clear_quota(uow, SYSTEM, args.namespace)
    else:
        limit = None if args.size == "none" else args.size
        found = quotas.set_quota(uow, SYSTEM, args.namespace, limit)
    print(describe(found), file=stdout)


HANDLERS = {("namespace", "quota"): quota}
