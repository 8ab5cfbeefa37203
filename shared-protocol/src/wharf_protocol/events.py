"""Registry notification events in the reference registry's envelope.

Wire format (distribution docs, "Work with notifications", "Envelope"; notifications/event.go)::

    Content-Type: application/vnd.docker.distribution.events.v2+json   (v1+json in 2.x)
    {"events": [{
        "id": "<uuid>", "timestamp": "<RFC 3339>", "action": "push|pull|delete|mount",
        "target": {"mediaType", "digest", "size", "length", "repository", "url", "tag",
                   "fromRepository", "references": [descriptor...]},
        "request": {"id", "addr", "host", "method", "useragent"},
        "actor": {"name"},
        "source": {"addr", "instanceID"}}]}

Wharf's extension: a ``pull`` event may carry ``"count": <n>`` (an integer from 1 to
:data:`MAX_PULL_COUNT`) in the event object: it stands for ``n`` pulls of the same target by
the same actor, the last of them at ``timestamp`` (the registry aggregates pulls in memory
and writes one event per target and actor per flush). An absent ``count`` means 1, so the
reference registry's events load unchanged and an event with count 1 dumps without the
field (exactly the reference envelope); any other action with a count other than 1 is
invalid. A consumer that does not know the field counts such an event as one pull.

Wharf's extension actions (:data:`WHARF_ACTIONS`): things a Wharf registry does on its own that
its Index records in the audit log. They travel in the same outbox and envelope, and only to
the Index: a registry never sends them to its notification endpoints (Distribution-format
consumers, which know only :data:`ACTIONS`).

- ``wharf.gc`` (:data:`GC`): a garbage collection run finished. ``target`` has no
  ``repository``; its ``summary`` field (:class:`GcSummary`) holds ``startedAt``,
  ``finishedAt`` (RFC 3339), ``dryRun`` (boolean) and the non-negative integers
  ``blobsDeleted``, ``manifestsDeleted``, ``bytesFreed``, ``uploadsPurged``, ``blobsMarked``.
- ``wharf.quota_refused`` (:data:`QUOTA_REFUSED`): a push was refused for a quota.
  ``target.repository`` is the repository, ``target.message`` (1 to
  :data:`MAX_MESSAGE` characters) what the client was told, ``actor.name`` who pushed.

A ``summary`` or ``message`` on any other action, or an extension event without its field,
is invalid; so is a ``repository`` on ``wharf.gc``. An Index that predates an extension
action answers the envelope as invalid, and the registry sets those events aside as dead
letters without holding back the others.

A reference of an index (one of its manifests) may carry the ``platform`` of that manifest
as the index gives it (``{"os", "architecture", "variant"}``, image-spec image-index.md): the
reference registry does (``manifestlist`` / ``ocischema`` ``References()``), so does Wharf's.
Other platform fields (``os.version``, ``os.features``) are not kept.

Sizes (``target.size``, ``target.length`` and each reference's ``size``) are integers in
``[0, 2**63)`` (:mod:`.descriptors`: OCI descriptors' ``size`` is an int64, image-spec
"Descriptors"); anything else makes the envelope invalid.

Empty target fields are omitted when dumping (Go's ``omitempty``). A repository delete is an
event with action ``delete`` whose target has only ``repository``. Consumers load with unknown
fields EXCLUDEd, so an older Index tolerates a newer Registry; producers' tests load with
``strict=True`` (RAISE) to catch typos.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    validates_schema,
)
from marshmallow.validate import Length, OneOf, Range, Regexp

from . import jsondepth
from .descriptors import MAX_SIZE
from .digests import DIGEST_RE, Digest

__all__ = [
    "ACCEPTED_EVENTS_MEDIA_TYPES",
    "ACTIONS",
    "ALL_ACTIONS",
    "DELETE",
    "EVENTS_MEDIA_TYPE",
    "EVENTS_MEDIA_TYPE_V1",
    "MAX_PULL_COUNT",
    "MOUNT",
    "PULL",
    "PUSH",
    "Actor",
    "Descriptor",
    "Event",
    "Platform",
    "EventsInvalid",
    "GC",
    "GcSummary",
    "MAX_MESSAGE",
    "QUOTA_REFUSED",
    "WHARF_ACTIONS",
    "RequestRecord",
    "Source",
    "Target",
    "dump_envelope",
    "is_wharf_action",
    "is_events_media_type",
    "load_envelope",
    "new_event",
]

EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json"
EVENTS_MEDIA_TYPE_V1 = "application/vnd.docker.distribution.events.v1+json"
ACCEPTED_EVENTS_MEDIA_TYPES = (EVENTS_MEDIA_TYPE_V1, EVENTS_MEDIA_TYPE)

PUSH, PULL, DELETE, MOUNT = "push", "pull", "delete", "mount"
ACTIONS = (PUSH, PULL, DELETE, MOUNT)  # the reference registry's: what endpoints receive
GC, QUOTA_REFUSED = "wharf.gc", "wharf.quota_refused"
WHARF_ACTIONS = (GC, QUOTA_REFUSED)  # Wharf's extension actions: for the Index only
ALL_ACTIONS = ACTIONS + WHARF_ACTIONS
MAX_MESSAGE = 1024  # longest ``target.message`` of a quota refusal

# The most pulls one aggregated ``pull`` event may stand for (Wharf's ``count``): far above
# what one registry process serves in a flush interval, far below the Index's int64 counters.
MAX_PULL_COUNT = 1_000_000


class EventsInvalid(ValueError):
    """An envelope does not load; ``messages`` holds marshmallow's per-field messages."""

    def __init__(self, messages: Any) -> None:
        self.messages = messages
        super().__init__(f"invalid events envelope: {messages}")


def is_wharf_action(action: str) -> bool:
    """Tell whether ``action`` is one of Wharf's extension actions (never sent to endpoints)."""
    return action in WHARF_ACTIONS


@dataclass(frozen=True)
class GcSummary:
    """What one garbage collection run did (the ``summary`` of a ``wharf.gc`` target).

    Times are timezone-aware; counts are integers from 0 to 2**63 - 1. ValueError otherwise.
    """

    started_at: datetime
    finished_at: datetime
    dry_run: bool
    blobs_deleted: int
    manifests_deleted: int
    bytes_freed: int
    uploads_purged: int
    blobs_marked: int

    COUNTS = ("blobs_deleted", "manifests_deleted", "bytes_freed", "uploads_purged", "blobs_marked")

    def __post_init__(self) -> None:
        for name in ("started_at", "finished_at"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")
        if type(self.dry_run) is not bool:
            raise ValueError("dry_run must be a boolean")
        for name in self.COUNTS:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= MAX_SIZE:
                raise ValueError(f"{name} must be an integer from 0 to 2**63 - 1")

    def to_dict(self) -> dict[str, Any]:
        """Return the summary with snake_case keys and RFC 3339 times (for JSON records)."""
        return {
            "started_at": _rfc3339(self.started_at),
            "finished_at": _rfc3339(self.finished_at),
            "dry_run": self.dry_run,
            **{name: getattr(self, name) for name in self.COUNTS},
        }


def _rfc3339(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class Platform:
    """The platform of an index's manifest (image-spec image-index.md, ``platform``)."""

    os: str = ""
    architecture: str = ""
    variant: str = ""


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor in ``target.references`` (OCI image spec, "Descriptors");
    ``platform``: an index's manifest's, when the index gives one."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None


@dataclass(frozen=True)
class Target:
    """What an event acted on; ``digest`` is a digest string or "" (repository delete).

    A :class:`~wharf_protocol.digests.Digest` given as ``digest`` is stored as its string.
    The reference registry sets ``length`` to ``size``; do the same when producing events.
    """

    media_type: str
    digest: str
    size: int | None
    repository: str
    url: str = ""
    tag: str = ""
    length: int | None = None
    from_repository: str = ""
    references: tuple[Descriptor, ...] = ()
    summary: GcSummary | None = None  # wharf.gc only
    message: str = ""  # wharf.quota_refused only

    def __post_init__(self) -> None:
        if isinstance(self.digest, Digest):
            object.__setattr__(self, "digest", str(self.digest))


@dataclass(frozen=True)
class RequestRecord:
    """The HTTP request that caused the event (``request`` on the wire)."""

    id: str = ""
    addr: str = ""
    host: str = ""
    method: str = ""
    useragent: str = ""


@dataclass(frozen=True)
class Actor:
    """Who caused the event (the authenticated user, or "" for anonymous)."""

    name: str = ""


@dataclass(frozen=True)
class Source:
    """The registry instance that generated the event."""

    addr: str = ""
    instance_id: str = ""


@dataclass(frozen=True)
class Event:
    """One notification; ``id`` is unique per event (the Index applies each id once).

    ``count`` (Wharf's extension, see the module docstring): how many pulls a ``pull`` event
    stands for; 1 for every other action. Raises ValueError for a naive ``timestamp``, an
    action outside :data:`ACTIONS` or a count outside ``[1, MAX_PULL_COUNT]`` (other than 1
    on a non-pull event).
    """

    id: str
    timestamp: datetime
    action: str
    target: Target
    request: RequestRecord = field(default_factory=RequestRecord)
    actor: Actor = field(default_factory=Actor)
    source: Source = field(default_factory=Source)
    count: int = 1

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ValueError("event timestamps must be timezone-aware (RFC 3339)")
        if self.action not in ALL_ACTIONS:
            raise ValueError(f"unknown event action: {self.action!r}")
        problem = _count_problem(self.action, self.count) or _target_problem(
            self.action, self.target
        )
        if problem:
            raise ValueError(problem)


def _count_problem(action: str, count: object) -> str | None:
    """Return why ``count`` is no valid pull count for an ``action`` event, or None."""
    if type(count) is not int or not 1 <= count <= MAX_PULL_COUNT:
        return f"count must be an integer from 1 to {MAX_PULL_COUNT}"
    if count != 1 and action != PULL:
        return "only pull events carry a count"
    return None


def _target_problem(action: str, target: Target) -> str | None:
    """Return why ``target`` does not fit an ``action`` event (extension fields), or None."""
    if action == GC:
        if target.summary is None:
            return "a wharf.gc event needs target.summary"
        if target.repository:
            return "a wharf.gc event names no repository"
    elif target.summary is not None:
        return "only wharf.gc events carry target.summary"
    elif not target.repository:
        return "target.repository is required"
    if action == QUOTA_REFUSED:
        if not 1 <= len(target.message) <= MAX_MESSAGE:
            return f"a wharf.quota_refused event needs target.message (1 to {MAX_MESSAGE} chars)"
    elif target.message:
        return "only wharf.quota_refused events carry target.message"
    return None


def new_event(
    action: str,
    target: Target,
    request: RequestRecord | None = None,
    actor: Actor | None = None,
    source: Source | None = None,
) -> Event:
    """Return an Event with a fresh uuid4 id and the current UTC time.

    Raises ValueError for an action outside :data:`ALL_ACTIONS` or a target that does not
    fit it (see the module docstring).
    """
    return Event(
        str(uuid.uuid4()),
        datetime.now(UTC),
        action,
        target,
        request or RequestRecord(),
        actor or Actor(),
        source or Source(),
    )


def is_events_media_type(content_type: str | None) -> bool:
    """Tell whether a Content-Type (parameters ignored) is an accepted envelope type."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return base in ACCEPTED_EVENTS_MEDIA_TYPES


class _RFC3339(fields.AwareDateTime):
    """An aware datetime dumped as RFC 3339 (``Z`` for UTC), loaded from ISO 8601 with offset."""

    def _serialize(self, value: datetime, attr: Any, obj: Any, **kwargs: Any) -> str:
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class _StrictBoolean(fields.Boolean):
    """A JSON boolean only (marshmallow's Boolean also takes 1, "yes", "on"...)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise ValidationError("must be a boolean")
        return value


SIZE = Range(min=0, max=MAX_SIZE, error="sizes are integers from 0 to 2**63 - 1")


def _str(data_key: str | None = None) -> fields.String:
    return fields.String(data_key=data_key, load_default="")


def _count(data_key: str) -> fields.Integer:
    return fields.Integer(data_key=data_key, required=True, strict=True, validate=SIZE)


def _schemas(unknown: str) -> Schema:
    """Build the envelope schema whose every level handles unknown fields with ``unknown``."""

    class Base(Schema):
        class Meta:
            pass

    Base.Meta.unknown = unknown

    class PlatformSchema(Base):
        os, architecture, variant = _str(), _str(), _str()

        @post_dump
        def omit_empty(self, data: dict, **_: Any) -> dict:
            return {k: v for k, v in data.items() if v}

        @post_load
        def make(self, data: dict, **_: Any) -> Platform:
            return Platform(**data)

    class DescriptorSchema(Base):
        media_type = fields.String(data_key="mediaType", required=True)
        digest = fields.String(required=True, validate=Regexp(DIGEST_RE))
        size = fields.Integer(required=True, strict=True, validate=SIZE)
        platform = fields.Nested(PlatformSchema, unknown=unknown, load_default=None)

        @post_dump
        def omit_empty(self, data: dict, **_: Any) -> dict:
            return {k: v for k, v in data.items() if v is not None}

        @post_load
        def make(self, data: dict, **_: Any) -> Descriptor:
            return Descriptor(**data)

    class GcSummarySchema(Base):
        started_at = _RFC3339(data_key="startedAt", required=True, format="iso")
        finished_at = _RFC3339(data_key="finishedAt", required=True, format="iso")
        dry_run = _StrictBoolean(data_key="dryRun", required=True)
        blobs_deleted = _count("blobsDeleted")
        manifests_deleted = _count("manifestsDeleted")
        bytes_freed = _count("bytesFreed")
        uploads_purged = _count("uploadsPurged")
        blobs_marked = _count("blobsMarked")

        @post_load
        def make(self, data: dict, **_: Any) -> GcSummary:
            return GcSummary(**data)

    class TargetSchema(Base):
        media_type = _str("mediaType")
        digest = fields.String(load_default="", validate=Regexp(rf"(?:{DIGEST_RE.pattern})?\Z"))
        size = fields.Integer(load_default=None, strict=True, validate=SIZE)
        length = fields.Integer(load_default=None, strict=True, validate=SIZE)
        repository = _str()  # required but for wharf.gc: EventSchema.check_target
        url = _str()
        tag = _str()
        from_repository = _str("fromRepository")
        references = fields.List(
            fields.Nested(DescriptorSchema, unknown=unknown), load_default=list
        )
        summary = fields.Nested(GcSummarySchema, unknown=unknown, load_default=None)
        message = fields.String(load_default="", validate=Length(max=MAX_MESSAGE))

        @post_dump
        def omit_empty(self, data: dict, **_: Any) -> dict:
            """Drop empty fields; ``repository`` stays (a repository delete has only it), but
            for a wharf.gc target, which has none."""
            return {
                k: v
                for k, v in data.items()
                if v not in ("", None, []) or (k == "repository" and "summary" not in data)
            }

        @post_load
        def make(self, data: dict, **_: Any) -> Target:
            return Target(**{**data, "references": tuple(data["references"])})

    class RequestSchema(Base):
        id, addr, host, method, useragent = _str(), _str(), _str(), _str(), _str()

        @post_load
        def make(self, data: dict, **_: Any) -> RequestRecord:
            return RequestRecord(**data)

    class ActorSchema(Base):
        name = _str()

        @post_dump
        def omit_empty(self, data: dict, **_: Any) -> dict:
            return {k: v for k, v in data.items() if v}

        @post_load
        def make(self, data: dict, **_: Any) -> Actor:
            return Actor(**data)

    class SourceSchema(Base):
        addr, instance_id = _str(), _str("instanceID")

        @post_load
        def make(self, data: dict, **_: Any) -> Source:
            return Source(**data)

    def nested(schema: type[Schema], empty: type) -> fields.Nested:
        return fields.Nested(schema, unknown=unknown, load_default=empty)

    class EventSchema(Base):
        id = fields.String(required=True, validate=Length(min=1))
        timestamp = _RFC3339(required=True, format="iso")
        action = fields.String(required=True, validate=OneOf(ALL_ACTIONS))
        target = fields.Nested(TargetSchema, unknown=unknown, required=True)
        request = nested(RequestSchema, RequestRecord)
        actor = nested(ActorSchema, Actor)
        source = nested(SourceSchema, Source)
        count = fields.Integer(load_default=1, strict=True)

        @validates_schema
        def check_count(self, data: dict, **_: Any) -> None:
            problem = _count_problem(data.get("action", ""), data.get("count", 1))
            if problem:
                raise ValidationError(problem, "count")

        @validates_schema
        def check_target(self, data: dict, **_: Any) -> None:
            if "target" in data and data.get("action") in ALL_ACTIONS:
                problem = _target_problem(data["action"], data["target"])
                if problem:
                    raise ValidationError(problem, "target")

        @post_dump
        def omit_single_count(self, data: dict, **_: Any) -> dict:
            if data.get("count") == 1:
                del data["count"]
            return data

        @post_load
        def make(self, data: dict, **_: Any) -> Event:
            return Event(**data)

    class EnvelopeSchema(Base):
        events = fields.List(fields.Nested(EventSchema, unknown=unknown), required=True)

    return EnvelopeSchema()


_LENIENT = _schemas(EXCLUDE)
_STRICT = _schemas(RAISE)


def dump_envelope(events: Iterable[Event]) -> dict[str, list[dict[str, Any]]]:
    """Return ``{"events": [...]}`` with the reference registry's camelCase field names."""
    return _LENIENT.dump({"events": list(events)})


def load_envelope(data: Mapping[str, Any] | str | bytes, strict: bool = False) -> list[Event]:
    """Load an envelope (object or JSON text) into Events.

    Unknown fields are ignored unless ``strict`` (then they are errors). Raises
    :class:`EventsInvalid` for invalid JSON (or JSON nested deeper than
    :data:`~wharf_protocol.jsondepth.MAX_DEPTH`), a missing ``events`` list, a missing or bad
    ``id``/``timestamp``/``action``/``target.repository``, malformed digests or sizes.
    """
    if isinstance(data, str | bytes):
        try:
            data = jsondepth.loads(data)
        except jsondepth.JsonTooDeep as exc:
            raise EventsInvalid({"_schema": [str(exc)]}) from None
        except ValueError as exc:
            raise EventsInvalid({"_schema": [f"not JSON: {exc}"]}) from None
    try:
        return (_STRICT if strict else _LENIENT).load(data)["events"]
    except ValidationError as exc:
        raise EventsInvalid(exc.messages) from None
