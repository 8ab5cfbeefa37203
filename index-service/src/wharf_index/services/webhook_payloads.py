"""The bodies webhooks send, built when a delivery is queued: pure functions, no I/O.

Everything a receiver needs is copied into the body (names of the repository, namespace and
pusher included), so a queued delivery outlives renames and deletions, and a redelivery
sends the same bytes. Bodies are compact JSON (``separators=(",", ":")``, keys in the
order written here; non-ASCII characters escaped, so the text is ASCII).

Two formats (a webhook's ``format``):

``dockerhub``
    Docker Hub's repository webhook payload (its documentation, "Example webhook
    payload"): ``callback_url``, ``push_data`` {``pushed_at`` (Unix seconds),
    ``pusher``, ``tag``, ``images`` (always empty, as on Docker Hub today)} and
    ``repository`` {``repo_name``, ``namespace``, ``name``, ``owner``, ``repo_url``,
    ``is_private``, ``is_official``, ``is_trusted``, ``description``,
    ``full_description``, ``star_count``, ``comment_count``, ``pull_count``,
    ``date_created``, ``status``}. Wharf adds ``push_data.digest``,
    ``push_data.media_type`` and ``push_data.registry`` (the registry that reported the
    event), and top-level ``event`` and ``delivery_id``: receivers written for Docker Hub
    ignore unknown fields. A namespace webhook's ping has ``repository`` null.

``cloudevents``
    A CloudEvents 1.0 event in structured mode (the JSON event format):
    ``specversion`` "1.0", ``id`` the delivery id, ``source`` the repository's URL (the
    namespace's for a namespace webhook's ping), ``type`` ``io.wharf.tag.pushed``,
    ``io.wharf.tag.deleted``, ``io.wharf.repository.deleted`` or ``io.wharf.ping``,
    ``subject`` ``namespace/name:tag`` (``namespace/name`` without a tag), ``time``
    (RFC 3339), ``datacontenttype`` ``application/json`` and ``data`` with the same facts
    as the Docker Hub format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

EVENTS = ("tag_pushed", "tag_deleted", "repository_deleted")
PING = "ping"
FORMATS = ("dockerhub", "cloudevents")
CLOUDEVENT_TYPES = {
    "tag_pushed": "io.wharf.tag.pushed",
    "tag_deleted": "io.wharf.tag.deleted",
    "repository_deleted": "io.wharf.repository.deleted",
    PING: "io.wharf.ping",
}
#: Where receivers post their result (api/rest/webhooks.py serves it under the public URL).
CALLBACK_PATH = "/api/v1/webhooks/callbacks/"


@dataclass(frozen=True)
class RepositoryFacts:
    """What a payload says about a repository, copied at queueing time."""

    namespace: str
    name: str
    is_private: bool
    description: str
    star_count: int
    comment_count: int
    pull_count: int
    created_at: datetime | None

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Occurrence:
    """One thing that happened, for one or more webhooks: ``event`` (EVENTS or ping), when,
    in which namespace, to which repository (None: a namespace webhook's ping) and, for
    tags, which tag, digest and media type, who pushed and through which registry."""

    event: str
    at: datetime
    namespace: str
    repository: RepositoryFacts | None = None
    tag: str = ""
    digest: str = ""
    media_type: str = ""
    pusher: str = ""
    registry: str = ""


def callback_url(public_url: str, callback_token: str) -> str:
    return f"{public_url}{CALLBACK_PATH}{callback_token}"


def repository_url(public_url: str, full_name: str) -> str:
    """The repository's page (the namespace's for a bare namespace name)."""
    kind = "repositories" if "/" in full_name else "namespaces"
    return f"{public_url}/{kind}/{full_name}"


def render(
    fmt: str, occurrence: Occurrence, *, delivery_id: str, callback: str, public_url: str
) -> str:
    """Return the exact JSON text to send for ``occurrence`` in format ``fmt``."""
    build = _dockerhub if fmt == "dockerhub" else _cloudevent
    document = build(occurrence, delivery_id, callback, public_url)
    return json.dumps(document, separators=(",", ":"), sort_keys=False)


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _dockerhub(occ: Occurrence, delivery_id: str, callback: str, public_url: str) -> dict:
    repo = occ.repository
    return {
        "callback_url": callback,
        "push_data": {
            "pushed_at": _unix(occ.at),
            "pusher": occ.pusher,
            "tag": occ.tag,
            "images": [],
            "digest": occ.digest,
            "media_type": occ.media_type,
            "registry": occ.registry,
        },
        "repository": None
        if repo is None
        else {
            "repo_name": repo.full_name,
            "namespace": repo.namespace,
            "name": repo.name,
            "owner": repo.namespace,
            "repo_url": repository_url(public_url, repo.full_name),
            "is_private": repo.is_private,
            "is_official": False,
            "is_trusted": False,
            "description": repo.description,
            "full_description": repo.description,
            "star_count": repo.star_count,
            "comment_count": repo.comment_count,
            "pull_count": repo.pull_count,
            "date_created": _unix(repo.created_at),
            "status": "Active",
        },
        "event": occ.event,
        "delivery_id": delivery_id,
    }


def _cloudevent(occ: Occurrence, delivery_id: str, callback: str, public_url: str) -> dict:
    repo = occ.repository
    name = repo.full_name if repo else occ.namespace
    return {
        "specversion": "1.0",
        "id": delivery_id,
        "source": repository_url(public_url, name),
        "type": CLOUDEVENT_TYPES[occ.event],
        "subject": f"{name}:{occ.tag}" if occ.tag else name,
        "time": occ.at.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "event": occ.event,
            "repository": repo.full_name if repo else None,
            "namespace": occ.namespace,
            "name": repo.name if repo else None,
            "is_private": repo.is_private if repo else None,
            "tag": occ.tag,
            "digest": occ.digest,
            "media_type": occ.media_type,
            "pusher": occ.pusher,
            "registry": occ.registry,
            "callback_url": callback,
        },
    }
