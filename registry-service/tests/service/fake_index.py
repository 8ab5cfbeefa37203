"""A fake Wharf Index behind ``responses``: published keys, token verification, events.

It signs tokens with its :class:`SigningKey` (:meth:`FakeIndex.rotate` starts signing with
a new one, still publishing the old), serves the public keys as ``/.well-known/jwks.json``
(counting fetches), verifies tokens with the real :class:`TokenVerifier` (audience = the
calling registry's name from Basic auth), answers which catalog names a token's subject
may pull (``pullable``: a subject -> names table, everything for ``admin``), answers 422
``TOKEN_INVALID`` with the reason like the Index (or holds its answers until ``hold`` is
set), records every event envelope (loaded strictly, to catch producer typos), and can be
switched ``down`` (connection refused) or made to reject envelopes.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Sequence

import requests
import responses
from wharf_protocol.client import IndexClient
from wharf_protocol.events import Event, is_events_media_type, load_envelope
from wharf_protocol.keys import KeySet, SigningKey
from wharf_protocol.scopes import Scope, parse_scope
from wharf_protocol.tokens import TokenError, TokenIssuer, TokenVerifier

URL = "http://index.test"
REALM = "https://index.example/v2/token"
NAME = "reg1"
CREDENTIAL = "registry-credential-123"
JWKS_URL = f"{URL}/.well-known/jwks.json"
KEY = SigningKey.generate()  # ES256; made once per test session (RSA is slow to generate)


def scopes(*values: str) -> list[Scope]:
    """Parse scope strings (``repository:a/b:pull,push``)."""
    return [parse_scope(v) for v in values]


class FakeIndex:
    """The Index's internal API, mocked on ``rsps``."""

    def __init__(self, rsps: responses.RequestsMock, check_audience: bool = True) -> None:
        self.keys = [KEY]  # published; the last one signs
        self.issuer = TokenIssuer(lambda: self.keys[-1], "wharf-index")
        self.jwks_fetches = 0
        self.check_audience = check_audience
        self.revoked: set[str] = set()  # tokens the Index says were revoked
        self.down = False
        self.hold: threading.Event | None = None  # verify answers wait until it is set
        self.verify_calls = 0
        self.event_posts: list[list[Event]] = []
        self.reject: Callable[[list[Event]], bool] = lambda events: False
        self.pullable: dict[str, set[str]] = {}  # subject -> names it may pull ("admin": all)
        self.pullable_questions: list[list[str]] = []
        rsps.add_callback(responses.POST, f"{URL}/internal/v1/catalog/pullable", self._pullable)
        rsps.add_callback(responses.POST, f"{URL}/internal/v1/tokens/verify", self._verify)
        rsps.add_callback(responses.POST, f"{URL}/internal/v1/events", self._events)
        rsps.add_callback(responses.GET, JWKS_URL, self._jwks)

    @property
    def published(self) -> KeySet:
        """The public keys the fake publishes."""
        return KeySet(key.public for key in self.keys)

    def rotate(self) -> SigningKey:
        """Start signing with a new key (published along with the old ones); return it."""
        self.keys.append(SigningKey.generate())
        return self.keys[-1]

    @property
    def events(self) -> list[Event]:
        """Every event received, in order (duplicates included)."""
        return [e for batch in self.event_posts for e in batch]

    def token(
        self,
        *scope_values: str,
        subject: str = "alice",
        audience: str = NAME,
        ttl: int = 300,
        issuer: TokenIssuer | None = None,
    ) -> str:
        """Mint a token granting ``scope_values``."""
        token, _ = (issuer or self.issuer).issue(subject, audience, scopes(*scope_values), ttl)
        return token

    @staticmethod
    def client(**kw) -> IndexClient:
        """Return an IndexClient for this fake: no retries, no sleeping."""
        return IndexClient(
            URL, NAME, CREDENTIAL, retries=kw.pop("retries", 0), sleep=lambda s: None, **kw
        )

    def _caller(self, request) -> str | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user if scheme == "Basic" and password == CREDENTIAL else None

    def _verify(self, request):
        self.verify_calls += 1
        if self.hold is not None and not self.hold.wait(10):
            return 504, {}, ""
        if self.down:
            return requests.ConnectionError("connection refused")
        caller = self._caller(request)
        if caller is None:
            return 401, {}, json.dumps({"error": {"code": "UNAUTHORIZED", "message": "no"}})
        token = json.loads(request.body)["token"]
        audience = caller if self.check_audience else None
        try:
            claims = TokenVerifier(self.published, "wharf-index", audience).verify(token)
        except TokenError as exc:
            return _invalid(exc.reason)
        if token in self.revoked:
            return _invalid("revoked")
        return 200, {}, json.dumps({"claims": claims.to_dict()})

    def _pullable(self, request):
        if self.down:
            return requests.ConnectionError("connection refused")
        caller = self._caller(request)
        if caller is None:
            return 401, {}, ""
        body = json.loads(request.body)
        try:
            claims = TokenVerifier(self.published, "wharf-index", caller).verify(body["token"])
        except TokenError as exc:
            return _invalid(exc.reason)
        if body["token"] in self.revoked:
            return _invalid("revoked")
        names = body["names"]
        self.pullable_questions.append(names)
        allowed = self.pullable.get(claims.subject, set())
        found = names if claims.subject == "admin" else [n for n in names if n in allowed]
        return 200, {}, json.dumps({"names": found})

    def _jwks(self, request):
        self.jwks_fetches += 1
        if self.down:
            return requests.ConnectionError("connection refused")
        return 200, {"Content-Type": "application/json"}, json.dumps(self.published.jwks())

    def _events(self, request):
        if self.down:
            return requests.ConnectionError("connection refused")
        if self._caller(request) is None:
            return 401, {}, ""
        assert is_events_media_type(request.headers["Content-Type"])
        events = load_envelope(request.body, strict=True)
        if self.reject(events):
            return 422, {}, json.dumps({"error": {"code": "EVENTS_INVALID", "message": "bad"}})
        self.event_posts.append(events)
        return 202, {}, ""


def _invalid(reason: str):
    body = {
        "error": {
            "code": "TOKEN_INVALID",
            "message": f"token {reason}",
            "detail": {"reason": reason},
        }
    }
    return 422, {}, json.dumps(body)


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def ids(events: Sequence[Event]) -> list[str]:
    """Return the ids of ``events``."""
    return [e.id for e in events]
