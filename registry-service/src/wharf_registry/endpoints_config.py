"""``REGISTRY_NOTIFICATIONS_ENDPOINTS``: the reference registry's notification endpoints.

The value is a JSON list of objects with the fields of distribution's ``notifications.endpoints``
(its documentation, "Configuring a registry", ``notifications``; notifications/endpoint.go)::

    [{"name": "alistener", "url": "https://listener.example.com/event",
      "headers": {"Authorization": ["Bearer <token>"]},
      "timeout": "1s", "threshold": 10, "backoff": "1s",
      "ignoredmediatypes": ["application/octet-stream"],
      "ignore": {"mediatypes": [...], "actions": ["pull"]},
      "disabled": false}]

``name`` (required, unique, ``[a-z0-9][a-z0-9_-]*``, at most 64 characters: it names the
endpoint's position object in storage) and ``url`` (required, http or https). The others take
distribution's defaults (its ``EndpointConfig.defaults``): ``timeout`` 1s, ``threshold`` 10,
``backoff`` 1s, where a zero value also means the default. Durations are Go's
(``time.ParseDuration``): a decimal number with a unit, ``ns``, ``us``/``µs``, ``ms``, ``s``,
``m`` or ``h``, possibly several (``1m30s``). A bare number, which distribution reads as
nanoseconds, is refused (``timeout: 500`` would be 500 ns there): give the unit. ``headers``
maps a name to a list of values (a single string is taken as a one-item list); Content-Type,
Content-Length and Host cannot be set. ``ignore.mediatypes`` and ``ignoredmediatypes`` are
merged, as distribution merges them. Unknown fields are refused (a misspelt ``treshold`` would
otherwise silently take the default).

:func:`parse_endpoints` returns the endpoints and one problem per bad field, each naming the
variable and the endpoint. Header values are secrets (tokens): :class:`EndpointConfig` keeps
them out of its ``repr``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from wharf_protocol.events import ACTIONS

VARIABLE = "REGISTRY_NOTIFICATIONS_ENDPOINTS"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name
DEFAULT_TIMEOUT = 1.0
DEFAULT_THRESHOLD = 10
DEFAULT_BACKOFF = 1.0
FIELDS = frozenset(
    {
        "name",
        "url",
        "headers",
        "timeout",
        "threshold",
        "backoff",
        "ignoredmediatypes",
        "ignore",
        "disabled",
    }
)
FORBIDDEN_HEADERS = frozenset({"content-type", "content-length", "host"})
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


@dataclass(frozen=True)
class EndpointConfig:
    """One notification endpoint, validated; durations in seconds."""

    name: str
    url: str = field(repr=False)  # may carry credentials: logs use safe_url
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    threshold: int = DEFAULT_THRESHOLD
    backoff: float = DEFAULT_BACKOFF
    ignored_media_types: frozenset[str] = frozenset()
    ignored_actions: frozenset[str] = frozenset()
    disabled: bool = False

    @property
    def safe_url(self) -> str:
        """The URL without user information or query (which may hold credentials), for logs."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    def ignores(self, action: str, media_type: str) -> bool:
        """Tell whether an event is filtered out for this endpoint (distribution's ignoredSink)."""
        return action in self.ignored_actions or media_type in self.ignored_media_types


def parse_duration(value: object) -> float:
    """Return Go duration text (``500ms``, ``1m30s``) in seconds; ValueError saying why."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a duration")
    text = str(value).strip()
    if text in ("0", "0.0"):
        return 0.0
    if re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
        raise ValueError(
            f"{text!r} has no unit (distribution reads it as nanoseconds): write 500ms, 1s, 5m"
        )
    if not text or _PART.sub("", text) != "":
        raise ValueError(f"{text!r} is not a duration like 500ms, 1s, 1m30s")
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))


def parse_endpoints(raw: str | None) -> tuple[tuple[EndpointConfig, ...], list[str]]:
    """Parse the variable's value; return the endpoints and the problems (empty when valid)."""
    if raw is None or not raw.strip():
        return (), []
    try:
        items = json.loads(raw)
    except ValueError as exc:
        return (), [f"{VARIABLE}: not JSON: {exc}"]
    if not isinstance(items, list):
        return (), [f"{VARIABLE}: must be a JSON list of endpoint objects"]
    endpoints, problems, seen = [], [], set()
    for index, item in enumerate(items):
        endpoint, found = _endpoint(index, item)
        problems += found
        if endpoint is None:
            continue
        if endpoint.name in seen:
            problems.append(f"{VARIABLE}: endpoint {endpoint.name!r}: name used twice")
            continue
        seen.add(endpoint.name)
        endpoints.append(endpoint)
    return tuple(endpoints), problems


def _endpoint(index: int, item: object) -> tuple[EndpointConfig | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"{VARIABLE}: endpoint {index}: must be an object"]
    name = item.get("name")
    label = f"endpoint {name!r}" if isinstance(name, str) and name else f"endpoint {index}"
    problems: list[str] = []

    def problem(key: str, message: str) -> None:
        problems.append(f"{VARIABLE}: {label}: {key}: {message}")

    for key in sorted(set(item) - FIELDS):
        problem(str(key), f"unknown field (known: {', '.join(sorted(FIELDS))})")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        problem("name", "required: 1 to 64 of a-z, 0-9, '_', '-' (starting with a letter or digit)")
    url = item.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problem("url", "required: an http(s) URL")
    values = {
        "timeout": _duration(item, "timeout", DEFAULT_TIMEOUT, problem),
        "backoff": _duration(item, "backoff", DEFAULT_BACKOFF, problem),
        "threshold": _threshold(item, problem),
        "headers": _headers(item.get("headers"), problem),
        "disabled": _boolean(item.get("disabled", False), problem),
    }
    ignore = item.get("ignore") or {}
    if not isinstance(ignore, dict) or set(ignore) - {"mediatypes", "actions"}:
        problem("ignore", "must be an object with 'mediatypes' and/or 'actions' lists")
        ignore = {}
    media_types = _strings(item.get("ignoredmediatypes"), "ignoredmediatypes", problem)
    media_types += _strings(ignore.get("mediatypes"), "ignore.mediatypes", problem)
    actions = _strings(ignore.get("actions"), "ignore.actions", problem)
    if bad := [a for a in actions if a not in ACTIONS]:
        problem("ignore.actions", f"{', '.join(bad)}: not one of {', '.join(ACTIONS)}")
    if problems:
        return None, problems
    endpoint = EndpointConfig(
        name=name,
        url=url,
        ignored_media_types=frozenset(media_types),
        ignored_actions=frozenset(actions),
        **values,
    )
    return endpoint, []


def _duration(item: dict, key: str, default: float, problem) -> float:
    if item.get(key) is None:
        return default
    try:
        value = parse_duration(item[key])
    except ValueError as exc:
        problem(key, str(exc))
        return default
    return value or default  # distribution: zero means the default


def _threshold(item: dict, problem) -> int:
    value = item.get("threshold")
    if value is None:
        return DEFAULT_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problem("threshold", f"{value!r} is not a whole number of failures (0: the default)")
        return DEFAULT_THRESHOLD
    return value or DEFAULT_THRESHOLD


def _boolean(value: object, problem) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    problem("disabled", f"{value!r} is not true or false")
    return False


def _headers(value: object, problem) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problem("headers", "must map each header name to a list of values")
        return {}
    headers = {}
    for name, values in value.items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(name, str) or not TOKEN_RE.fullmatch(name):
            problem("headers", f"{name!r} is not a header name")
        elif name.lower() in FORBIDDEN_HEADERS:
            problem("headers", f"{name} is set by the registry and cannot be configured")
        elif not isinstance(values, list) or not all(
            isinstance(v, str) and "\r" not in v and "\n" not in v for v in values
        ):
            problem("headers", f"{name}: values must be a list of one-line strings")
        else:
            headers[name] = tuple(values)
    return headers


def _strings(value: object, key: str, problem) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problem(key, "must be a list of strings")
        return []
    return list(value)
