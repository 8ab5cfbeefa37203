"""The pull-through cache: content of mirrored repositories fetched on a miss, then held.

For a repository whose name is under an upstream's prefix (``Settings.upstream_for``):

- **Blobs** (by digest, never expire): a miss takes the blob's fetch lease (leases.py),
  GETs it from the upstream and streams it to the client *while* writing it to storage
  and hashing it, in threads of their own (:class:`~.fetch.BlobFetch`). The last chunk is
  held back until the digest is verified: a mismatch (or a short body) cancels the write,
  so nothing is committed, and raises inside the response, which breaks the client's
  connection before its last byte. Other requests for the blob wait for that fetch's
  commit and are served from storage. A blob stored already (fetched for another
  repository) is linked once the upstream confirms (``HEAD``) that this repository has it.
- **Manifests by digest** (never expire): fetched, their digest verified, stored as a
  revision (``ManifestStore.cache``).
- **Manifests by tag**: served from storage for ``ttl`` seconds after the upstream last
  confirmed the tag (``/wharf/proxy/tags/<name>/_tags/<tag>``); then a ``HEAD`` upstream
  compares the digest (a new one is fetched). When the upstream cannot be reached or
  errs, the cached copy is served with ``Warning: 110 - "Response is stale"`` (RFC 9111's
  former warn-code, which Docker's and containers' clients ignore); when it answers 404,
  the tag is gone there and the answer is 404.
- **Tag lists** are the upstream's (the cached list, with the same warning, when it is
  down); catalog and referrers are the cache's own.
- **An upstream that failed** is down for its ``down_backoff`` (health.py): a stale tag or
  a tag list of a repository held here is then served from the cache at once, with the
  warning, without asking it; requests with nothing cached still ask.

Pushes and deletes are refused before this module is reached (api/access.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from wharf_protocol import mediatypes
from wharf_protocol.digests import Digest, DigestInvalid, digest_bytes
from wharf_protocol.names import Reference

from ..content import Content, paths
from ..content.errors import BlobUnknown, ManifestUnknown, NameUnknown
from ..content.manifests import Manifest
from ..content.validation import base_type
from ..proxy_config import Upstream
from ..settings import Settings
from ..storage.base import PathNotFound
from .fetch import BlobFetch
from .leases import FetchLeases, FetchWaitTooLong
from .upstream import TIMEOUT, UpstreamClient, UpstreamRateLimited, UpstreamUnavailable

logger = logging.getLogger(__name__)

LINK_WAIT = 10.0  # seconds a waiter waits for a committed fetch to link and release
STALE_WARNING = '110 - "Response is stale"'
MANIFEST_ACCEPT = ", ".join(
    (
        mediatypes.OCI_INDEX,
        mediatypes.OCI_MANIFEST,
        mediatypes.DOCKER_MANIFEST_LIST,
        mediatypes.DOCKER_MANIFEST,
    )
)


class ProxyPushRefused(Exception):
    """A push or delete into a mirrored repository (answered ``405 UNSUPPORTED``)."""

    def __init__(self, name: str, upstream: Upstream) -> None:
        mirrored = upstream.prefix or "every repository"
        super().__init__(
            f"this registry mirrors {mirrored} from {upstream.safe_url}: "
            f"push to the upstream ({name} is read-only here)"
        )


@dataclass(frozen=True)
class Served:
    """A manifest to answer with, and whether it is a stale copy (upstream unreachable)."""

    manifest: Manifest
    stale: bool = False


class Mirror:
    """Fetch-on-miss for the mirrored repositories of one registry."""

    def __init__(
        self,
        settings: Settings,
        content: Content,
        leases: FetchLeases | None = None,
        clock: Callable[[], float] = time.time,
        timeout: tuple[float, float] = TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.content = content
        self.leases = leases or FetchLeases(content.driver)
        self._clock = clock  # wall time: tag confirmations are stored, shared by hosts
        self._timeout = timeout  # connect, read (upstream.py)
        self._monotonic = monotonic  # this process's upstream health (health.py)
        self._clients: dict[str, UpstreamClient] = {}
        self._lock = threading.Lock()

    def upstream(self, name: str) -> Upstream | None:
        """The upstream ``name`` is mirrored from, or None."""
        return self.settings.upstream_for(name)

    def refuse_write(self, name: str) -> None:
        """ProxyPushRefused when ``name`` is mirrored."""
        upstream = self.upstream(name)
        if upstream is not None:
            raise ProxyPushRefused(name, upstream)

    def client(self, upstream: Upstream) -> UpstreamClient:
        with self._lock:
            client = self._clients.get(upstream.prefix)
            if client is None:
                client = UpstreamClient(upstream, self._timeout, self._monotonic)
                self._clients[upstream.prefix] = client
            return client

    # -- blobs ---------------------------------------------------------------------------

    def blob_size(self, name: str, upstream: Upstream, digest: Digest) -> int:
        """The size the upstream gives for blob ``digest`` of ``name`` (HEAD; no caching).

        BlobUnknown when the upstream has no such blob there."""
        response = self.client(upstream).get(f"/v2/{name}/blobs/{digest}", method="HEAD")
        response.close()
        self._check(response, upstream, BlobUnknown(digest))
        try:
            return int(response.headers["Content-Length"])
        except (KeyError, ValueError):
            raise UpstreamUnavailable(upstream, "blob HEAD without Content-Length") from None

    def blob(self, name: str, upstream: Upstream, digest: Digest) -> BlobFetch | None:
        """Make blob ``digest`` of ``name`` available: None when it is now stored and linked
        (serve it from storage), else the fetch to stream to the client."""
        if self._stored(digest):
            self._link(name, upstream, digest)
            return None
        try:
            lease = self.leases.take_or_wait(digest, lambda: self._stored(digest))
        except FetchWaitTooLong as exc:
            raise UpstreamUnavailable(upstream, str(exc)) from None
        if lease is None:  # another request fetched it meanwhile
            self._link(name, upstream, digest)
            return None
        try:
            response = self.client(upstream).get(f"/v2/{name}/blobs/{digest}")
            self._check(response, upstream, BlobUnknown(digest))
        except BaseException:
            lease.release()
            raise
        logger.info("fetching blob %s of %s from %s", digest, name, upstream.safe_url)
        return BlobFetch(self, name, digest, response, lease)

    def _stored(self, digest: Digest) -> bool:
        try:
            self.content.blobs.size(digest)
        except BlobUnknown:
            return False
        return True

    def _link(self, name: str, upstream: Upstream, digest: Digest) -> None:
        """Link the stored blob ``digest`` into ``name``: a fetch of it still in progress
        links it before releasing its lease (so wait for that), else link it once the
        upstream confirms ``name`` has it."""
        blobs = self.content.blobs
        if not blobs.is_linked(name, digest):
            self.leases.wait_released(digest, LINK_WAIT)
        if not blobs.is_linked(name, digest):
            self._link_confirmed(name, upstream, digest)

    def _link_confirmed(self, name: str, upstream: Upstream, digest: Digest) -> None:
        """Link a blob stored for another repository once the upstream says ``name`` has it
        (so a repository never gains a blob by the mirror's fault)."""
        self.blob_size(name, upstream, digest)
        self.content.blobs.link(name, digest)

    def _check(self, response: requests.Response, upstream: Upstream, missing: Exception) -> None:
        """Raise ``missing`` on 404, UpstreamRateLimited on 429 and UpstreamUnavailable on
        any other non-200."""
        if response.status_code == 200:
            return
        response.close()
        if response.status_code == 404:
            raise missing
        if response.status_code == 429:
            raise UpstreamRateLimited(upstream, response.headers.get("Retry-After"))
        raise UpstreamUnavailable(upstream, f"answered {response.status_code}")

    # -- manifests -----------------------------------------------------------------------

    def manifest(self, name: str, upstream: Upstream, ref: Reference) -> Served:
        """The manifest ``ref`` names in ``name``: cached, fetched, or a stale copy."""
        manifests = self.content.manifests
        if ref.digest is not None:
            try:
                return Served(manifests.get(name, ref))
            except ManifestUnknown:
                return Served(self._fetch_manifest(name, upstream, str(ref.digest), ref.digest))
        tag = ref.tag
        try:
            local = manifests.get(name, ref)
        except ManifestUnknown:
            local = None
        if local is not None and self._fresh(name, tag, upstream.ttl):
            return Served(local)
        if local is not None and self.client(upstream).health.use_cache():
            logger.debug("serving %s:%s from the cache: upstream down", name, tag)
            return Served(local, stale=True)
        try:
            if local is not None and self._upstream_digest(name, upstream, tag) == local.digest:
                self._confirmed(name, tag)
                return Served(local)
            fetched = self._fetch_manifest(name, upstream, tag, None, tag=tag)
        except UpstreamUnavailable as exc:
            if local is None:
                raise
            logger.warning("serving %s:%s from the cache: %s", name, tag, exc)
            return Served(local, stale=True)
        self._confirmed(name, tag)
        return Served(fetched)

    def _upstream_digest(self, name: str, upstream: Upstream, tag: str) -> Digest | None:
        """The digest the upstream's tag points at (HEAD), None if it does not say."""
        response = self.client(upstream).get(
            f"/v2/{name}/manifests/{tag}", method="HEAD", headers={"Accept": MANIFEST_ACCEPT}
        )
        response.close()
        self._check(response, upstream, ManifestUnknown(tag))
        try:
            return Digest.parse(response.headers.get("Docker-Content-Digest", ""))
        except DigestInvalid:
            return None

    def _fetch_manifest(
        self,
        name: str,
        upstream: Upstream,
        reference: str,
        expected: Digest | None,
        tag: str | None = None,
    ) -> Manifest:
        """GET a manifest, verify its digest, store it (and point ``tag`` at it)."""
        response = self.client(upstream).get(
            f"/v2/{name}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}
        )
        self._check(response, upstream, ManifestUnknown(reference))
        with response:
            body = _read_at_most(response, self.settings.manifest_max_size, upstream)
        claimed = response.headers.get("Docker-Content-Digest")
        try:
            claimed_digest = Digest.parse(claimed) if claimed else None
        except DigestInvalid:
            claimed_digest = None
        known = expected or claimed_digest
        digest = digest_bytes(body, known.algorithm if known is not None else "sha256")
        for want in (expected, claimed_digest):
            if want is not None and want != digest:
                logger.error(
                    "upstream %s sent manifest %s of %s with digest %s: not cached",
                    upstream.safe_url,
                    want,
                    name,
                    digest,
                )
                raise UpstreamUnavailable(upstream, f"manifest digest mismatch ({want})")
        content_type = base_type(response.headers.get("Content-Type"))
        if content_type not in mediatypes.MANIFEST_TYPES | mediatypes.INDEX_TYPES:
            content_type = None
        return self.content.manifests.cache(name, digest, body, content_type, tag)

    def _fresh(self, name: str, tag: str, ttl: float) -> bool:
        try:
            record = json.loads(self.content.driver.get_content(paths.tag_checked(name, tag)))
            return self._clock() - float(record["checked"]) < ttl
        except (PathNotFound, ValueError, KeyError, TypeError):
            return False

    def _confirmed(self, name: str, tag: str) -> None:
        record = json.dumps({"checked": self._clock()}).encode()
        self.content.driver.put_content(paths.tag_checked(name, tag), record)

    # -- tags ----------------------------------------------------------------------------

    def tags(
        self, name: str, upstream: Upstream, n: int, last: str | None
    ) -> tuple[list[str], bool] | None:
        """The upstream's page of tags of ``name`` and whether more follow; None when the
        upstream is unavailable (serve the cached list); NameUnknown when it has no such
        repository."""
        query = f"?n={n}" + (f"&last={last}" if last else "")
        client = self.client(upstream)
        if (
            client.health.down
            and self.content.blobs.repository_exists(name)
            and client.health.use_cache()
        ):
            return None
        try:
            response = client.get(f"/v2/{name}/tags/list{query}")
        except UpstreamUnavailable as exc:
            logger.warning("tags of %s from the cache: %s", name, exc)
            return None
        with response:
            if response.status_code == 404:
                raise NameUnknown(name)
            if response.status_code != 200:
                return None
            try:
                body = json.loads(_read_at_most(response, 4 << 20, upstream))
                tags = [t for t in body.get("tags") or [] if isinstance(t, str)]
            except (ValueError, AttributeError, UpstreamUnavailable):
                return None
        return tags[:n], "next" in response.headers.get("Link", "") or len(tags) > n


def _read_at_most(response: requests.Response, limit: int, upstream: Upstream) -> bytes:
    """Read a small body (a manifest, a tag list) of at most ``limit`` bytes."""
    data = bytearray()
    while chunk := response.raw.read(64 * 1024, decode_content=True):
        data += chunk
        if len(data) > limit:
            raise UpstreamUnavailable(upstream, f"a body larger than {limit} bytes")
    return bytes(data)
