"""The storage layout: the reference registry's (distribution ``paths.go``), plus referrers.

Everything lives under ``/docker/registry/v2`` so that a directory or bucket written by the
reference registry is readable by Wharf and back::

    /docker/registry/v2/
      blobs/<alg>/<first two hex>/<hex>/data             blob bytes (content addressed)
      repositories/<name>/                               <name> may hold slashes: a/b/c
        _layers/<alg>/<hex>/link                         blob linked into the repo ("<alg>:<hex>")
        _manifests/
          revisions/<alg>/<hex>/link                     manifest linked into the repo
          tags/<tag>/
            current/link                                 digest the tag points at now
            index/<alg>/<hex>/link                       every digest the tag pointed at
        _uploads/<uuid>/
          data                                           bytes received so far (driver writer)
          startedat                                      RFC 3339 UTC start time
        _referrers/<subject alg>/<subject hex>/          Wharf extension (not in distribution):
          <alg>/<hex>/descriptor                         OCI descriptor JSON of a manifest whose
                                                         ``subject`` is <subject alg>:<hex>

Manifests are stored as blobs (``blobs/.../data``) like every other content. A repository
exists when ``_manifests`` or ``_layers`` exists under its directory; components starting
with ``_`` are never part of a repository name (the grammar forbids a leading ``_``).
"""

from __future__ import annotations

from wharf_protocol.digests import Digest

ROOT = "/docker/registry/v2"
REPOSITORIES = f"{ROOT}/repositories"


def blob_dir(digest: Digest) -> str:
    """Return the directory holding the blob ``digest``."""
    return f"{ROOT}/blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def blob_data(digest: Digest) -> str:
    """Return the path of the bytes of blob ``digest``."""
    return f"{blob_dir(digest)}/data"


def repository(name: str) -> str:
    """Return the directory of repository ``name``."""
    return f"{REPOSITORIES}/{name}"


def layers(name: str) -> str:
    """Return the directory of the blob links of ``name``."""
    return f"{repository(name)}/_layers"


def layer_link(name: str, digest: Digest) -> str:
    """Return the link making blob ``digest`` visible in ``name``."""
    return f"{layers(name)}/{digest.algorithm}/{digest.hex}/link"


def manifests(name: str) -> str:
    """Return the ``_manifests`` directory of ``name``."""
    return f"{repository(name)}/_manifests"


def revision_dir(name: str, digest: Digest) -> str:
    """Return the directory of the manifest revision ``digest`` in ``name``."""
    return f"{manifests(name)}/revisions/{digest.algorithm}/{digest.hex}"


def revision_link(name: str, digest: Digest) -> str:
    """Return the link making manifest ``digest`` visible in ``name``."""
    return f"{revision_dir(name, digest)}/link"


def tags(name: str) -> str:
    """Return the directory holding one directory per tag of ``name``."""
    return f"{manifests(name)}/tags"


def tag_dir(name: str, tag: str) -> str:
    """Return the directory of ``tag`` in ``name``."""
    return f"{tags(name)}/{tag}"


def tag_current(name: str, tag: str) -> str:
    """Return the link holding the digest ``tag`` points at."""
    return f"{tag_dir(name, tag)}/current/link"


def tag_index_link(name: str, tag: str, digest: Digest) -> str:
    """Return the index entry recording that ``tag`` pointed at ``digest``."""
    return f"{tag_dir(name, tag)}/index/{digest.algorithm}/{digest.hex}/link"


def upload_dir(name: str, upload_id: str) -> str:
    """Return the directory of upload session ``upload_id``."""
    return f"{repository(name)}/_uploads/{upload_id}"


def upload_data(name: str, upload_id: str) -> str:
    """Return the path the upload's bytes are written to."""
    return f"{upload_dir(name, upload_id)}/data"


def upload_startedat(name: str, upload_id: str) -> str:
    """Return the path of the upload's start time (its existence marks the session)."""
    return f"{upload_dir(name, upload_id)}/startedat"


def referrers_dir(name: str, subject: Digest) -> str:
    """Return the directory of the referrers of ``subject`` in ``name``."""
    return f"{repository(name)}/_referrers/{subject.algorithm}/{subject.hex}"


def referrer_descriptor(name: str, subject: Digest, digest: Digest) -> str:
    """Return the descriptor file of referrer ``digest`` of ``subject``."""
    return f"{referrers_dir(name, subject)}/{digest.algorithm}/{digest.hex}/descriptor"


def basename(path: str) -> str:
    """Return the last component of a storage path."""
    return path.rsplit("/", 1)[-1]


# -- garbage collection (see docs/garbage-collection.md) ------------------------------------
# Outside ``ROOT``: the reference registry never reads them, and they are not content.

GC_ROOT = "/wharf/gc"
GC_RUN = f"{GC_ROOT}/run.json"  # written at the start of a run: its mtime is T0
GC_LAST_RUN = f"{GC_ROOT}/last-run.json"  # the summary of the last finished run
GC_LEASE = f"{GC_ROOT}/lease.json"  # which replica runs the scheduled collection
GC_TOUCHED = f"{GC_ROOT}/touched"
GC_CONDEMNED = f"{GC_ROOT}/condemned"


def touch_marker(digest: Digest) -> str:
    """Return the marker whose mtime records a recent use of blob ``digest``."""
    return f"{GC_TOUCHED}/{digest.algorithm}/{digest.hex}"


def condemned_marker(digest: Digest) -> str:
    """Return the marker a sweep holds while it decides to delete blob ``digest``."""
    return f"{GC_CONDEMNED}/{digest.algorithm}/{digest.hex}"


# -- the pull-through cache (see docs/pull-through-cache.md) ---------------------------------
# Outside ``ROOT`` too: coordination and freshness, not content.

PROXY_ROOT = "/wharf/proxy"


def fetch_leases(digest: Digest) -> str:
    """Return the directory of the fetch leases of blob ``digest`` (one file per attempt)."""
    return f"{PROXY_ROOT}/fetches/{digest.algorithm}/{digest.hex}"


def fetch_lease(digest: Digest, attempt: int) -> str:
    """Return lease file number ``attempt`` of blob ``digest`` (zero-padded: sorts by number)."""
    return f"{fetch_leases(digest)}/{attempt:06d}"


def tag_checked(name: str, tag: str) -> str:
    """Return the record of when the upstream last confirmed tag ``tag`` of ``name``
    (``_tags`` is no name component: ``a/b`` and ``a`` with a tag ``b`` never collide)."""
    return f"{PROXY_ROOT}/tags/{name}/_tags/{tag}"
