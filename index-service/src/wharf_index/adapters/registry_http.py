"""The Index's HTTP client for registries (scenario C and ``registry sync``), over requests:
:class:`RegistryHTTP` implements the domain's RegistryClient port (domain/registry_client.py).

Calls (each with ``Authorization: Bearer <token>`` the Index minted for that registry):

- ``DELETE /v2/_wharf/repositories/<name>`` (a Wharf extension,
  scenario C): 202 (also 200/204) = done on the registry's side; idempotent there.
- ``DELETE /v2/<name>/manifests/<tag>`` (end-9, deleting a tag by reference; the
  manifest stays): 202 (also 200/204) = deleted, 404 = the registry has no such tag (an
  answer: a repeated deletion finds it gone).
- ``GET /v2/_catalog`` and ``GET /v2/<name>/tags/list`` with ``n`` and the spec's
  pagination (end-8b): the next page is the ``Link: <...>; rel="next"`` header. Only the
  path and query of a Link are used, always against the registry's recorded URL, so the
  token never travels to another host (a registry behind a proxy may announce its public
  host); a Link that does not move forward ends with RegistryRefused instead of looping.
- ``HEAD``/``GET /v2/<name>/manifests/<tag>`` (end-3/end-2) accepting the OCI and Docker
  manifest and index types: the digest (``Docker-Content-Digest``, checked against the
  body on GET), media type, size, config and layers (an index's child manifests stand as
  its layers, as the event ingestion records them).
- ``GET /v2/<name>/manifests/<digest>`` (end-3, by digest) as raw bytes for the tag page
  (:meth:`RegistryHTTP.manifest_document`), at most ``MANIFEST_LIMIT`` bytes (4 MiB, the
  size the distribution spec lets registries refuse above).
- ``GET /v2/<name>/blobs/<digest>`` (end-2) of an image config only, never a layer
  (:meth:`RegistryHTTP.config_blob`): read as a stream and abandoned past ``limit`` bytes
  (1 MiB by default), so a layer named as a config never fills memory. A 307 to storage
  (a registry with storage redirects) is followed once, without the token.
- ``GET /v2/<name>/referrers/<digest>`` (end-12a): the image index listing the manifests
  whose ``subject`` is that digest (signatures, SBOMs); 404 = no referrers API (None).
- ``GET /status`` (a Wharf registry's outbox backlog, public: no token is sent) of every
  registry at once for the administration page (:meth:`RegistryHTTP.outbox_statuses`):
  a thread each (at most ``STATUS_THREADS``), no retry, one deadline for all; whatever has
  not answered by then is ``unreachable`` and its thread is left to end on its own (its
  connect and read timeouts, and the deadline checked between reads of at most
  ``STATUS_LIMIT`` bytes, end it soon after). Never an error: an answer that is not the
  report is ``unknown``.

Documents read by digest are checked against it (the bytes hash to the digest asked for):
a registry cannot substitute one.

Failures are domain errors: connection errors, timeouts, 429 and 5xx are retried
``retries`` times with exponential backoff, then RegistryUnavailable; other unexpected
statuses (401/403 token refused, 400...) RegistryRefused. A 404 on tags or a manifest is
an answer (None), not an error. Tokens never appear in messages or logs. JSON answers are
parsed with a nesting bound (wharf_protocol.jsondepth): a deep one is refused, not a crash.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import quote, urlencode, urlsplit

import requests
from wharf_protocol import jsondepth, mediatypes
from wharf_protocol.descriptors import is_size
from wharf_protocol.digests import Digest, DigestInvalid, digest_bytes

from ..domain import platforms
from ..domain.errors import RegistryRefused, RegistryUnavailable
from ..domain.model import Registry
from ..domain.records import OutboxStatus, RemoteManifest
from ..domain.registry_client import CONFIG_LIMIT

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MANIFEST_LIMIT = 4 * 1024 * 1024
REFERRERS_LIMIT = 4 * 1024 * 1024
MANIFEST_ACCEPT = ", ".join(
    (
        mediatypes.OCI_MANIFEST,
        mediatypes.OCI_INDEX,
        mediatypes.DOCKER_MANIFEST,
        mediatypes.DOCKER_MANIFEST_LIST,
    )
)
STATUS_LIMIT = 64 * 1024  # bytes: a registry's status is a few dozen
STATUS_THREADS = 32
STATUS_STATES = frozenset({"ok", "off", "down"})
UNREACHABLE = OutboxStatus("unreachable")
UNKNOWN = OutboxStatus("unknown")
_NEXT_RE = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?', re.I)


class RegistryHTTP:
    """Call registries with timeouts and bounded, backed-off retries (see module doc).

    ``timeout`` is requests' (connect, read) pair; ``verify`` what registries' certificates
    must chain to (INDEX_REGISTRY_TLS_CA, or system trust); the n-th retry waits
    ``backoff * 2 ** (n - 1)`` seconds; ``page_size`` is the ``n`` asked for per page.
    """

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = (3.05, 15.0),
        retries: int = 2,
        backoff: float = 0.2,
        page_size: int = 100,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        verify: bool | str = True,
    ) -> None:
        self.verify = verify  # requests': True (system trust) or a CA bundle path
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.page_size = page_size
        self._session = session or requests.Session()
        self._sleep = sleep

    def close(self) -> None:
        self._session.close()

    # -- calls ------------------------------------------------------------------------------

    def delete_repository(self, registry: Registry, name: str, token: str) -> None:
        """Ask ``registry`` to delete repository ``name``; return when it answered 202."""
        response = self._send(registry, "DELETE", f"/v2/_wharf/repositories/{quote(name)}", token)
        if response.status_code not in (200, 202, 204):
            raise self._refused(registry, "DELETE repository", response)

    def delete_tag(self, registry: Registry, name: str, tag: str, token: str) -> bool:
        """Ask ``registry`` to delete tag ``tag`` of ``name``: True when it did, False when
        it had no such tag (404)."""
        response = self._send(registry, "DELETE", _manifest_path(name, tag), token)
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 202, 204):
            raise self._refused(registry, "DELETE tag", response)
        return True

    def catalog(self, registry: Registry, token: str) -> Iterator[str]:
        """Yield every repository name of the registry's catalog, page by page."""
        for body in self._pages(registry, "/v2/_catalog", token):
            if body is None:
                raise RegistryRefused(registry.name, "GET /v2/_catalog: HTTP 404")
            yield from _strings(registry, body, "repositories")

    def tags(self, registry: Registry, name: str, token: str) -> list[str] | None:
        """Return every tag of ``name`` (None: the registry does not know the repository)."""
        found: list[str] = []
        for body in self._pages(registry, f"/v2/{quote(name)}/tags/list", token):
            if body is None:
                return None
            found += _strings(registry, body, "tags")
        return found

    def manifest_digest(self, registry: Registry, name: str, tag: str, token: str) -> str | None:
        """HEAD a tag's manifest: its digest, or None (unknown, or no digest header)."""
        response = self._send(
            registry, "HEAD", _manifest_path(name, tag), token, {"Accept": MANIFEST_ACCEPT}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(registry, "HEAD manifest", response)
        return response.headers.get("Docker-Content-Digest") or None

    def manifest(
        self, registry: Registry, name: str, tag: str, token: str
    ) -> RemoteManifest | None:
        """GET a tag's manifest (None: unknown to the registry)."""
        response = self._send(
            registry, "GET", _manifest_path(name, tag), token, {"Accept": MANIFEST_ACCEPT}
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(registry, "GET manifest", response)
        return _parse_manifest(registry, response)

    def manifest_document(
        self, registry: Registry, name: str, digest: str, token: str
    ) -> tuple[bytes, str] | None:
        """GET the manifest ``digest`` of ``name``: (its bytes, media type), None when the
        registry does not have it. The bytes hash to ``digest`` (else RegistryRefused)."""
        response = self._send(
            registry,
            "GET",
            _manifest_path(name, digest),
            token,
            {"Accept": MANIFEST_ACCEPT},
            stream=True,
        )
        with response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise self._refused(registry, "GET manifest", response)
            body = _bounded(registry, response, MANIFEST_LIMIT, "manifest")
        _check_digest(registry, body, digest)
        return body, _media_type(body, response.headers.get("Content-Type", ""))

    def config_blob(
        self, registry: Registry, name: str, digest: str, token: str, limit: int = CONFIG_LIMIT
    ) -> bytes | None:
        """GET the image config blob ``digest`` of ``name`` (None: unknown there). At most
        ``limit`` bytes are read (RegistryRefused beyond: not a config); the bytes hash to
        ``digest``."""
        path = f"/v2/{quote(name)}/blobs/{quote(digest, safe=':')}"
        response = self._send(registry, "GET", path, token, stream=True)
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            response.close()
            response = self._storage(registry, response.headers["Location"])
        with response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise self._refused(registry, "GET config blob", response)
            body = _bounded(registry, response, limit, "config")
        _check_digest(registry, body, digest)
        return body

    def referrers(
        self, registry: Registry, name: str, digest: str, token: str
    ) -> list[dict] | None:
        """The descriptors of the manifests referring to ``digest`` (``artifactType``,
        ``digest``, ``size``, ``mediaType``, ``annotations``); None: no referrers API."""
        response = self._send(
            registry,
            "GET",
            f"/v2/{quote(name)}/referrers/{quote(digest, safe=':')}",
            token,
            stream=True,
        )
        with response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise self._refused(registry, "GET referrers", response)
            body = _bounded(registry, response, REFERRERS_LIMIT, "referrers list")
        try:
            document = jsondepth.loads(body)
        except ValueError:
            document = None
        manifests = document.get("manifests") if isinstance(document, dict) else None
        if not isinstance(manifests, list):
            raise RegistryRefused(registry.name, "referrers answer is not an image index")
        return [item for item in manifests if isinstance(item, dict)]

    def outbox_statuses(
        self, registries: Sequence[Registry], timeout: float
    ) -> dict[str, OutboxStatus]:
        """``GET /status`` of every registry at once; within ``timeout`` s (module doc)."""
        if not registries:
            return {}
        deadline = time.monotonic() + timeout
        pool = ThreadPoolExecutor(
            max_workers=min(len(registries), STATUS_THREADS),
            thread_name_prefix="wharf-registry-status",
        )
        try:
            asked = {pool.submit(self._outbox_status, r, deadline): r.name for r in registries}
            done, _ = wait(asked, timeout=timeout)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return {name: (f.result() if f in done else UNREACHABLE) for f, name in asked.items()}

    def _outbox_status(self, registry: Registry, deadline: float) -> OutboxStatus:
        left = deadline - time.monotonic()
        if left <= 0:
            return UNREACHABLE
        try:
            response = self._session.get(
                registry.url.rstrip("/") + "/status",
                timeout=(left, left),
                allow_redirects=False,
                verify=self.verify,
                stream=True,
            )
        except (requests.RequestException, ValueError):  # ValueError: a bad URL
            return UNREACHABLE
        with response:
            if response.status_code != 200:
                return UNKNOWN
            chunks, total = [], 0
            try:
                for chunk in response.iter_content(4096):
                    total += len(chunk)
                    if total > STATUS_LIMIT:
                        return UNKNOWN
                    if time.monotonic() > deadline:
                        return UNREACHABLE
                    chunks.append(chunk)
            except requests.RequestException:
                return UNREACHABLE
        return _outbox_status(b"".join(chunks))

    # -- plumbing -----------------------------------------------------------------------------

    def _pages(self, registry: Registry, path: str, token: str) -> Iterator[dict | None]:
        target, seen = f"{path}?{urlencode({'n': self.page_size})}", set()
        while target:
            seen.add(target)
            response = self._send(registry, "GET", target, token)
            if response.status_code == 404:
                yield None
                return
            if response.status_code != 200:
                raise self._refused(registry, f"GET {path}", response)
            yield _json(registry, response)
            target = _next(response.headers.get("Link", ""))
            if target in seen:
                raise RegistryRefused(registry.name, f"pagination of {path} does not advance")

    def _storage(self, registry: Registry, location: str) -> requests.Response:
        """GET a blob where the registry redirected (its storage): no token travels."""
        url = location if urlsplit(location).scheme else registry.url.rstrip("/") + location
        try:
            return self._session.get(
                url, timeout=self.timeout, allow_redirects=False, verify=self.verify, stream=True
            )
        except (requests.RequestException, ValueError) as exc:
            raise RegistryUnavailable(registry.name, f"GET blob: {type(exc).__name__}") from None

    def _send(
        self,
        registry: Registry,
        method: str,
        target: str,
        token: str,
        headers: dict | None = None,
        *,
        stream: bool = False,
    ) -> requests.Response:
        url = registry.url.rstrip("/") + target
        headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    verify=self.verify,
                    stream=stream,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
            except (requests.RequestException, ValueError) as exc:  # ValueError: a bad URL
                reason = f"{method} {url}: {type(exc).__name__}"
                raise RegistryUnavailable(registry.name, reason) from None
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                response.close()
                problem = f"HTTP {response.status_code}"
            logger.warning(
                "registry %s: %s %s failed (attempt %d): %s",
                registry.name,
                method,
                url,
                attempt + 1,
                problem,
            )
        raise RegistryUnavailable(
            registry.name, f"{method} {url}: {problem} after {self.retries + 1} attempts"
        )

    @staticmethod
    def _refused(registry: Registry, what: str, response: requests.Response) -> RegistryRefused:
        code = ""
        try:
            errors = jsondepth.loads(response.content).get("errors") or []
            code = f" {errors[0].get('code', '')}" if errors else ""
        except (ValueError, AttributeError, TypeError):
            pass
        return RegistryRefused(registry.name, f"{what}: HTTP {response.status_code}{code}")


def _bounded(registry: Registry, response: requests.Response, limit: int, what: str) -> bytes:
    """The body of a streamed answer, refused once it passes ``limit`` bytes."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise RegistryRefused(registry.name, f"{what} larger than {limit} bytes")
    chunks, total = [], 0
    try:
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > limit:
                raise RegistryRefused(registry.name, f"{what} larger than {limit} bytes")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise RegistryUnavailable(registry.name, f"reading {what}: {type(exc).__name__}") from None
    return b"".join(chunks)


def _check_digest(registry: Registry, body: bytes, digest: str) -> None:
    try:
        expected = Digest.parse(digest)
        found = str(digest_bytes(body, expected.algorithm))
    except DigestInvalid:
        raise RegistryRefused(registry.name, f"bad digest {digest}") from None
    if found != str(expected):
        raise RegistryRefused(registry.name, f"document does not match its digest {digest}")


def _media_type(body: bytes, content_type: str) -> str:
    """The manifest's own ``mediaType``, else the answer's Content-Type."""
    try:
        document = jsondepth.loads(body)
    except ValueError:
        document = None
    declared = document.get("mediaType") if isinstance(document, dict) else None
    return (declared if isinstance(declared, str) and declared else content_type).split(";")[0]


def _manifest_path(name: str, reference: str) -> str:
    """A tag or a digest (``sha256:...``: its colon stays as it is)."""
    return f"/v2/{quote(name)}/manifests/{quote(reference, safe=':')}"


def _next(link: str) -> str | None:
    """Path and query of the ``rel="next"`` Link (None: last page)."""
    match = _NEXT_RE.search(link)
    if not match:
        return None
    parts = urlsplit(match.group(1))
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else None


def _json(registry: Registry, response: requests.Response) -> dict:
    try:
        body = jsondepth.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RegistryRefused(registry.name, f"{response.request.method} answered no JSON object")
    return body


def _strings(registry: Registry, body: dict, key: str) -> list[str]:
    values = body.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RegistryRefused(registry.name, f"{key} is not a list of strings")
    return values


def _parse_manifest(registry: Registry, response: requests.Response) -> RemoteManifest:
    body = response.content
    header = response.headers.get("Docker-Content-Digest")
    try:
        algorithm = Digest.parse(header).algorithm if header else "sha256"
        digest = str(digest_bytes(body, algorithm))
        document = jsondepth.loads(body)
    except (DigestInvalid, ValueError):
        raise RegistryRefused(registry.name, "manifest is not JSON or has a bad digest") from None
    if header and header != digest:
        raise RegistryRefused(registry.name, f"manifest digest {header} does not match its body")
    if not isinstance(document, dict):
        raise RegistryRefused(registry.name, "manifest is not a JSON object")
    media_type = document.get("mediaType") or response.headers.get("Content-Type", "")
    media_type = media_type.split(";")[0].strip()
    config = document.get("config") if isinstance(document.get("config"), dict) else None
    children = document.get("manifests") if mediatypes.is_index(media_type) else None
    items = children if children is not None else document.get("layers")
    layers = [_descriptor(item) for item in items or [] if isinstance(item, dict)]
    config_size = config.get("size") if config else None
    return RemoteManifest(
        digest,
        media_type,
        len(body),
        config.get("digest") if config else None,
        layers,
        config_size if is_size(config_size) else None,
        platforms.of_index(document) if children is not None else None,
    )


def _descriptor(item: dict) -> dict:
    size = item.get("size")
    return {
        "digest": str(item.get("digest", "")),
        "size": size if is_size(size) else 0,
        "mediaType": str(item.get("mediaType", "")),
    }


def _outbox_status(body: bytes) -> OutboxStatus:
    """The ``outbox`` of a registry's status body; UNKNOWN when it is not that report."""
    try:
        document = jsondepth.loads(body)
    except ValueError:
        return UNKNOWN
    outbox = document.get("outbox") if isinstance(document, dict) else None
    state = outbox.get("status") if isinstance(outbox, dict) else None
    if state not in STATUS_STATES:
        return UNKNOWN
    if state != "ok":
        return OutboxStatus(state)
    pending, capped = outbox.get("pending"), outbox.get("pending_capped", False)
    age = outbox.get("oldest_age_seconds")
    if not (_count(pending) and isinstance(capped, bool) and _seconds(age)):
        return UNKNOWN
    return OutboxStatus("ok", pending, capped, float(age))


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 <= value < float("inf")
    )
