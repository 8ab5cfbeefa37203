"""Pagination of every ``/api/v1`` list.

Request: ``?limit=N`` (an integer from 1 to 999999999 in ASCII digits; default 50 or
INDEX_MAX_PAGE_SIZE if lower; values above INDEX_MAX_PAGE_SIZE are clamped to it) and
``?cursor=C`` (taken from a previous answer; base64url and ``.`` characters only).
Response body: ``{"items": [...], "next": C | null}``; ``next`` is null on the last page.
No Link header: the body is the one place.

A cursor is opaque: the keyset key of the last item (e.g. ``["alice/app"]``), tagged with
the listing it belongs to and signed with INDEX_SECRET_KEY (itsdangerous, salt
``wharf-index.api-cursor``). Anything that is not a cursor this server issued for *this*
listing -- garbage, a cursor of another listing, a forged or over-long one -- is answered
``400 CURSOR_INVALID`` before any query runs; its contents never reach SQL unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import request
from itsdangerous import BadData, URLSafeSerializer
from wharf_protocol.errcode import ApiError

from ...context import current
from ...services.paging import Page, slice_sorted

SALT = "wharf-index.api-cursor"
DEFAULT_LIMIT = 50
MAX_CURSOR_LENGTH = 2048
#: What itsdangerous' URL-safe serializer writes: base64url parts joined by ``.``.
CURSOR_RE = re.compile(r"[A-Za-z0-9_.-]+")
MAX_LIMIT_DIGITS = 9
MAX_LIMIT = 10**MAX_LIMIT_DIGITS - 1


@dataclass(frozen=True)
class PageRequest:
    """What the client asked for: ``limit`` and the key to continue after (or None)."""

    limit: int
    after: tuple | None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current().settings.secret_key, salt=SALT)


def _invalid(message: str) -> ApiError:
    return ApiError("CURSOR_INVALID", message, 400, {"field": "cursor"})


def max_limit() -> int:
    return max(1, current().settings.max_page_size)


def parse_limit(raw: str | None) -> int:
    """Return the page size for ``raw`` (None: the default); 400 for non-integers or < 1."""
    if raw is None:
        return min(DEFAULT_LIMIT, max_limit())
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_LIMIT_DIGITS or int(raw) < 1:
        raise ApiError(
            "VALIDATION_FAILED",
            "limit must be a positive integer",
            400,
            {"limit": ["must be a positive integer"]},
        )
    return min(int(raw), max_limit())


def encode_cursor(kind: str, key: tuple) -> str:
    """Return the opaque cursor continuing listing ``kind`` after ``key``."""
    return _serializer().dumps([kind, *key])


def decode_cursor(kind: str, types: tuple[type, ...], raw: str) -> tuple:
    """Return the key in ``raw`` if it is a cursor of ``kind`` whose parts have ``types``."""
    if len(raw) > MAX_CURSOR_LENGTH or not CURSOR_RE.fullmatch(raw):
        raise _invalid("malformed cursor")
    try:
        data = _serializer().loads(raw)
    except (BadData, ValueError, UnicodeError):
        raise _invalid("malformed cursor") from None
    if not isinstance(data, list) or len(data) != len(types) + 1 or data[0] != kind:
        raise _invalid("this cursor belongs to another listing")
    key = []
    for value, wanted in zip(data[1:], types, strict=True):
        if wanted is float and type(value) is int:
            value = float(value)
        if type(value) is not wanted:
            raise _invalid("malformed cursor")
        key.append(value)
    return tuple(key)


def page_request(kind: str, types: tuple[type, ...]) -> PageRequest:
    """Read ``limit`` and ``cursor`` from the query string for listing ``kind``."""
    raw = request.args.get("cursor")
    after = decode_cursor(kind, types, raw) if raw is not None else None
    return PageRequest(parse_limit(request.args.get("limit")), after)


def page_body(kind: str, page: Page, items: list) -> dict:
    """Return ``{"items": items, "next": cursor | None}`` for a service Page."""
    following = encode_cursor(kind, page.next) if page.next is not None else None
    return {"items": items, "next": following}


def paged_list(kind: str, types: tuple[type, ...], items, key, dump) -> dict:
    """Paginate a small in-memory list (members, teams, tokens...) by its unique ``key``."""
    wanted = page_request(kind, types)
    page = slice_sorted(items, wanted.after, wanted.limit, key)
    return page_body(kind, page, dump(page.items))
