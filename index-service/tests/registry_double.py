"""A registry double for Index -> Registry calls, on ``responses`` (no sockets).

``FakeRegistry(url, verifier, audience)`` answers, for every request, only when the
bearer token verifies (TokenVerifier with the Index's keys, audience = the registry's
name) and grants what the endpoint needs (else 401, as a token-mode registry does):

- ``DELETE /v2/_wharf/repositories/<name>`` (``delete``): forgets the repository, 202;
- ``GET /v2/_catalog?n=&last=`` (``registry:catalog:*``): every repository, paginated
  with a relative ``Link`` (``absolute_links``: an absolute one on another host);
- ``GET /v2/<name>/tags/list?n=&last=`` (``pull``), 404 ``NAME_UNKNOWN`` when absent;
- ``HEAD``/``GET /v2/<name>/manifests/<tag or digest>`` (``pull``), with the manifest's
  own ``mediaType`` as Content-Type (``push`` keeps a manifest by tag and by digest,
  ``push_manifest`` by digest only, as an index's children and referrers are pushed);
- ``GET /v2/<name>/blobs/<digest>`` (``pull``): blobs given to ``push_blob``; with
  ``storage = "http://host"`` a 307 to ``<storage>/<digest>`` instead, which answers the
  blob (``storage_calls``: the headers each storage request carried);
- ``GET /v2/<name>/referrers/<digest>`` (``pull``): an OCI image index of the manifests
  pushed with that ``subject`` (``artifactType``, else their config's media type), or
  404 when ``referrers_api = False`` (a registry without that API);
- ``DELETE /v2/<name>/manifests/<tag>`` (``delete``): forgets the tag, 202; 404
  ``MANIFEST_UNKNOWN`` when absent (end-9 by tag).

``down = True`` makes every call fail with a connection error; ``failing_deletes = True``
answers tag deletes 503 (reachable for reads, failing to delete). ``calls`` records
(method, path, claims) of each request the double answered.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import responses
from wharf_index.adapters.registry_http import RegistryHTTP
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.services.registry_agent import RegistryAgent
from wharf_index.services.signing_keys import KeyRing
from wharf_protocol import mediatypes
from wharf_protocol.digests import digest_bytes
from wharf_protocol.events import Actor, Descriptor, Target, new_event
from wharf_protocol.tokens import TokenError, TokenVerifier

CONFIG = "sha256:" + "c" * 64
LAYER = "sha256:" + "d" * 64


def manifest_bytes(label: str, layers: int = 1) -> bytes:
    """A small OCI image manifest; ``label`` makes its digest unique."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": CONFIG, "size": 7},
            "layers": [
                {"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": LAYER, "size": 1000 + i}
                for i in range(layers)
            ],
            "annotations": {"label": label},
        }
    ).encode()


def digest_of(body: bytes) -> str:
    return str(digest_bytes(body))


class FakeRegistry:
    def __init__(
        self,
        mock: responses.RequestsMock,
        url: str,
        verifier,
        audience: str,
        *,
        page_size: int = 2,
        absolute_links: bool = False,
    ) -> None:
        self.url, self.verifier, self.audience = url.rstrip("/"), verifier, audience
        self.page_size, self.absolute_links = page_size, absolute_links
        self.repositories: dict[str, dict[str, bytes]] = {}
        self.manifests: dict[str, dict[str, bytes]] = {}  # name -> digest -> body
        self.blobs: dict[str, dict[str, bytes]] = {}  # name -> digest -> body
        self.referrers_api = True
        self.storage: str | None = None
        self.storage_calls: list[dict] = []
        self._mock = mock
        self.down = False
        self.failing_deletes = False
        self.calls: list[tuple[str, str, object]] = []
        self.tokens: list[str] = []
        pattern = re.compile(re.escape(self.url) + r"/v2/.*")
        for method in ("GET", "HEAD", "DELETE"):
            mock.add_callback(method, pattern, callback=self._answer)

    def push(self, name: str, tag: str, body: bytes) -> str:
        self.repositories.setdefault(name, {})[tag] = body
        return self.push_manifest(name, body)

    def push_manifest(self, name: str, body: bytes) -> str:
        """Keep a manifest by digest only (no tag); return its digest."""
        self.manifests.setdefault(name, {})[digest_of(body)] = body
        return digest_of(body)

    def push_blob(self, name: str, body: bytes) -> str:
        self.blobs.setdefault(name, {})[digest_of(body)] = body
        return digest_of(body)

    # -- dispatch -----------------------------------------------------------------------------

    def _answer(self, request):
        if self.down:
            raise requests.ConnectionError("registry down")
        parts = urlsplit(request.url)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            token = request.headers["Authorization"].split(" ", 1)[1]
            claims = self.verifier.verify(token, audience=self.audience)
        except (KeyError, IndexError, TokenError):
            return 401, {}, '{"errors": [{"code": "UNAUTHORIZED"}]}'
        self.tokens.append(token)
        self.calls.append((request.method, path, claims))
        if path == "/v2/_catalog":
            return self._catalog(claims, query)
        match = re.fullmatch(r"/v2/_wharf/repositories/(.+)", path)
        if match and request.method == "DELETE":
            return self._delete(claims, match.group(1))
        match = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if match and request.method == "DELETE":
            return self._delete_tag(claims, *match.groups())
        match = re.fullmatch(r"/v2/(.+)/(tags/list|(manifests|blobs|referrers)/([^/]+))", path)
        if not match or not claims.allows("repository", match.group(1), "pull"):
            return 401, {}, '{"errors": [{"code": "UNAUTHORIZED"}]}'
        name, kind, what, reference = match.groups()
        if kind == "tags/list":
            return self._tags(name, query)
        if what == "blobs":
            return self._blob(name, reference)
        if what == "referrers":
            return self._referrers(name, reference)
        return self._manifest(request.method, name, reference)

    def _delete(self, claims, name):
        if not claims.allows("repository", name, "delete"):
            return 401, {}, '{"errors": [{"code": "UNAUTHORIZED"}]}'
        self.repositories.pop(name, None)
        return 202, {}, ""

    def _delete_tag(self, claims, name, tag):
        if not claims.allows("repository", name, "delete"):
            return 401, {}, '{"errors": [{"code": "UNAUTHORIZED"}]}'
        if self.failing_deletes:
            return 503, {}, '{"errors": [{"code": "UNAVAILABLE"}]}'
        if self.repositories.get(name, {}).pop(tag, None) is None:
            return 404, {}, '{"errors": [{"code": "MANIFEST_UNKNOWN"}]}'
        return 202, {}, ""

    def _page(self, path, key, items, query):
        n = int(query.get("n", self.page_size))
        n = min(n, self.page_size)
        rest = [i for i in sorted(items) if "last" not in query or i > query["last"]]
        page, headers = rest[:n], {}
        if len(rest) > n:
            base = "http://elsewhere.example" if self.absolute_links else ""
            headers["Link"] = f'<{base}{path}?{urlencode({"last": page[-1], "n": n})}>; rel="next"'
        return 200, headers, json.dumps({key: page})

    def _catalog(self, claims, query):
        if not claims.allows("registry", "catalog", "*"):
            return 401, {}, '{"errors": [{"code": "UNAUTHORIZED"}]}'
        return self._page("/v2/_catalog", "repositories", self.repositories, query)

    def _tags(self, name, query):
        if name not in self.repositories:
            return 404, {}, '{"errors": [{"code": "NAME_UNKNOWN"}]}'
        return self._page(f"/v2/{name}/tags/list", "tags", self.repositories[name], query)

    def _manifest(self, method, name, reference):
        body = self.repositories.get(name, {}).get(reference)
        if body is None:
            body = self.manifests.get(name, {}).get(reference)
        if body is None:  # a HEAD answer has no body
            return 404, {}, "" if method == "HEAD" else '{"errors": [{"code": "MANIFEST_UNKNOWN"}]}'
        headers = {
            "Docker-Content-Digest": digest_of(body),
            "Content-Type": json.loads(body).get("mediaType") or mediatypes.OCI_MANIFEST,
        }
        return 200, headers, b"" if method == "HEAD" else body

    def _blob(self, name, digest):
        body = self.blobs.get(name, {}).get(digest)
        if body is None:
            return 404, {}, '{"errors": [{"code": "BLOB_UNKNOWN"}]}'
        if self.storage:
            self._mock.add_callback("GET", f"{self.storage}/{digest}", callback=self._stored(body))
            return 307, {"Location": f"{self.storage}/{digest}"}, ""
        return 200, {"Content-Type": "application/octet-stream"}, body

    def _stored(self, body):
        def answer(request):
            self.storage_calls.append(dict(request.headers))
            return 200, {"Content-Type": "application/octet-stream"}, body

        return answer

    def _referrers(self, name, digest):
        if not self.referrers_api:
            return 404, {}, "404 page not found"
        found = []
        for body in self.manifests.get(name, {}).values():
            document = json.loads(body)
            if (document.get("subject") or {}).get("digest") != digest:
                continue
            artifact = document.get("artifactType") or document["config"]["mediaType"]
            found.append(
                {
                    "mediaType": document.get("mediaType", mediatypes.OCI_MANIFEST),
                    "digest": digest_of(body),
                    "size": len(body),
                    "artifactType": artifact,
                }
            )
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": found}
        return 200, {"Content-Type": mediatypes.OCI_INDEX}, json.dumps(index)


def no_sleep(seconds: float) -> None:
    """Backoff without waiting (tests)."""


def make_client() -> RegistryHTTP:
    """The Index's HTTP client for registries, retrying once without sleeping."""
    return RegistryHTTP(retries=1, sleep=no_sleep)


def key_ring(settings, database) -> KeyRing:
    """The Index's signing keys in ``database`` (made when there are none)."""
    return KeyRing.from_settings(settings, lambda: PgUnitOfWork(database))


def make_agent(settings, database):
    """A RegistryAgent signing with the Index's key whose retries do not sleep."""
    return RegistryAgent.from_settings(settings, make_client(), key_ring(settings, database))


def verifier_for(settings, database):
    """A verifier of the Index's tokens, with the keys it publishes (as a registry has)."""
    return TokenVerifier(key_ring(settings, database).find, issuer=settings.token_issuer)


def push_event(repository: str, tag: str, body: bytes):
    """The registry's push event of manifest ``body`` as ``repository:tag``."""
    document = json.loads(body)
    references = tuple(
        Descriptor(d["mediaType"], d["digest"], d["size"])
        for d in [document["config"], *document["layers"]]
    )
    target = Target(
        mediatypes.OCI_MANIFEST,
        digest_of(body),
        len(body),
        repository,
        tag=tag,
        length=len(body),
        references=references,
    )
    return new_event("push", target, actor=Actor("alice"))
