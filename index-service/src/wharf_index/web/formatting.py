"""Template filters: sizes in binary units, times as "3 hours ago" with the exact time in
the element's ``datetime`` attribute, spans of time as "4 s", counts with thousands
separators, manifest media
types by name, and Markdown as sanitised HTML (markdown.py)."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(value: int | None) -> str:
    """``1536`` -> ``1.5 KiB`` (bytes below 1 KiB as an integer)."""
    if value is None:
        return ""
    amount, unit = float(value), 0
    while amount >= 1024 and unit < len(_UNITS) - 1:
        amount, unit = amount / 1024, unit + 1
    return f"{int(amount)} B" if unit == 0 else f"{amount:.1f} {_UNITS[unit]}"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``a minute ago``, ``3 days ago``; empty for None."""
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    for span, name in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"),
                       (3600, "hour"), (60, "minute")):  # fmt: skip
        if seconds >= span:
            count = seconds // span
            return f"{count} {name}{'s' if count > 1 else ''} ago"
    return "just now"


def seconds(value: float | None) -> str:
    """A span in its largest whole unit: ``4 s``, ``3 min``, ``2 h``, ``5 d``."""
    whole = int(value or 0)
    for span, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if whole >= span:
            return f"{whole // span} {unit}"
    return f"{whole} s"


def iso(value: datetime | None) -> str:
    """RFC 3339 in UTC, for ``<time datetime=...>``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def count(value: int | None) -> str:
    """``12345`` -> ``12,345``."""
    return f"{value or 0:,}"


#: Manifest media types (OCI image-spec, Docker's image manifest v2 schema 2) by name.
MEDIA_KINDS = {
    "application/vnd.oci.image.manifest.v1+json": "OCI image",
    "application/vnd.oci.image.index.v1+json": "OCI index",
    "application/vnd.docker.distribution.manifest.v2+json": "Docker image",
    "application/vnd.docker.distribution.manifest.list.v2+json": "Docker manifest list",
}


def media_kind(value: str | None) -> str:
    """A manifest media type by name; an unknown one as it is."""
    return MEDIA_KINDS.get(value or "", value or "")


def platforms(value) -> str:
    """A manifest's platforms (domain/platforms.py) as ``linux/amd64, linux/arm64/v8``;
    nothing when none is known."""
    return ", ".join(p.label for p in value or ())


def register(app) -> None:
    """Make the filters available to every template."""
    from .markdown import render

    app.jinja_env.filters.update(
        size=size,
        ago=ago,
        seconds=seconds,
        iso=iso,
        count=count,
        media_kind=media_kind,
        platforms=platforms,
        markdown=render,
    )
