"""Chaining on the command line (wired into cli.py): the ``--weight`` and ``--upstream``
options of ``registry add`` / ``registry update`` and the namespace routes.

- ``route set NS REGISTRY [REGISTRY ...]``: route the namespace's pushes to those
  registries, first first (services/routes.py: each must serve NS and mirror nothing).
- ``route list``: one line per route, ``NS<TAB>REGISTRY,REGISTRY``.
- ``route remove NS``: the namespace rule of the registry directory applies again.

As the administrator ``wharf-index``; audited like the API's ``PUT``/``DELETE
/api/v1/namespaces/NS/route``.
"""

from __future__ import annotations

import argparse

from .domain.model import MAX_WEIGHT, MIN_WEIGHT, SYSTEM
from .services import routes


def _weight(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not MIN_WEIGHT <= int(text) <= MAX_WEIGHT:
        raise argparse.ArgumentTypeError(
            f"expected an integer from {MIN_WEIGHT} to {MAX_WEIGHT}, got {text!r}"
        )
    return int(text)


def add_chaining_arguments(parser, *, update: bool) -> None:
    """``--weight`` and ``--upstream`` (with ``update``: also ``--no-upstream``)."""
    parser.add_argument(
        "--weight",
        type=_weight,
        default=None if update else 1,
        help="share of first places in the rotation of a repository's registries,"
        f" {MIN_WEIGHT}..{MAX_WEIGHT} (default 1; 0: listed, never first)",
    )
    upstream = parser.add_mutually_exclusive_group() if update else parser
    upstream.add_argument(
        "--upstream",
        metavar="NAME",
        help="the registry this one mirrors (kind mirror): it serves what NAME holds,"
        " within its namespaces",
    )
    if update:
        upstream.add_argument(
            "--no-upstream", action="store_true", help="mirror no registry any more"
        )


def update_options(args) -> dict:
    """The keyword arguments of services.registries.update_registry that ``args`` gives."""
    options: dict = {}
    if args.catalog is not None:
        options["catalog"] = args.catalog
    if args.weight is not None:
        options["weight"] = args.weight
    if args.upstream is not None or args.no_upstream:
        options["upstream"] = None if args.no_upstream else args.upstream
    return options


def add_parsers(sub) -> None:
    """Add ``route set|list|remove`` to the commands."""
    route = sub.add_parser("route", help="namespace routes: where pushes go").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    chosen = route.add_parser("set", help="route a namespace's pushes to registries, in order")
    chosen.add_argument("namespace")
    chosen.add_argument("registries", nargs="+", metavar="REGISTRY")
    route.add_parser("list", help="list the namespace routes")
    route.add_parser("remove", help="remove a namespace's route").add_argument("namespace")


def route_set(uow, args, stdin, stdout):
    route = routes.set_route(uow, args.namespace, args.registries, actor=SYSTEM)
    print(f"route {route.namespace}: {', '.join(route.registries)}", file=stdout)


def route_list(uow, args, stdin, stdout):
    for route in routes.list_routes(uow):
        print(f"{route.namespace}\t{','.join(route.registries)}", file=stdout)


def route_remove(uow, args, stdin, stdout):
    routes.set_route(uow, args.namespace, [], actor=SYSTEM)
    print(f"route {args.namespace} removed", file=stdout)


HANDLERS = {
    ("route", "set"): route_set,
    ("route", "list"): route_list,
    ("route", "remove"): route_remove,
}
