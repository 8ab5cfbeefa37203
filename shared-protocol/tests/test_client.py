"""The Registry -> Index client (token verification and events), against ``responses`` mocks."""

import base64
import json

import pytest
import requests
import responses
from responses import matchers
from wharf_protocol.client import (
    EventsRejected,
    IndexClient,
    IndexClientError,
    IndexUnavailable,
    RegistryCredentialRejected,
    TokenRejected,
)
from wharf_protocol.events import EVENTS_MEDIA_TYPE, Target, load_envelope, new_event
from wharf_protocol.scopes import parse_scopes
from wharf_protocol.tokens import Claims, TokenError

BASE = "http://index.test"
VERIFY = BASE + "/internal/v1/tokens/verify"
EVENTS = BASE + "/internal/v1/events"
SECRET = "s3cr3t-credential-value"
BASIC = "Basic " + base64.b64encode(f"reg-1:{SECRET}".encode()).decode()
CLAIMS = Claims(
    "wharf-index", "alice", "reg-1", 1, 1, 301, "jti-1", parse_scopes(["repository:acme/app:pull"])
)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def client(sleeps):
    with IndexClient(BASE + "/", "reg-1", SECRET, retries=3, backoff=0.5, sleep=sleeps) as c:
        yield c


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def events():
    return [new_event("push", Target("m", "sha256:" + "0" * 64, 5, "acme/app", tag="v1"))]


def assert_secret_hidden(*objects):
    for obj in objects:
        for text in (str(obj), repr(obj), str(getattr(obj, "args", ""))):
            assert SECRET not in text and BASIC.split()[1] not in text


def test_verify_success_sends_basic_auth_and_json(client, mocked):
    mocked.post(
        VERIFY,
        json={"claims": CLAIMS.to_dict()},
        match=[
            matchers.json_params_matcher({"token": "tok"}),
            matchers.header_matcher({"Authorization": BASIC, "Content-Type": "application/json"}),
        ],
    )
    assert client.verify_token("tok") == CLAIMS


@pytest.mark.parametrize("status", [400, 422])
@pytest.mark.parametrize("reason", ["expired", "wrong_audience", "revoked", "unknown"])
def test_verify_rejection_carries_the_reason(client, mocked, reason, status):
    body = {"error": {"code": "TOKEN_INVALID", "message": "no", "detail": {"reason": reason}}}
    mocked.post(VERIFY, json=body, status=status)
    with pytest.raises(TokenRejected) as info:
        client.verify_token("tok")
    assert info.value.reason == reason
    assert isinstance(info.value, TokenError) and isinstance(info.value, IndexClientError)
    assert "TOKEN_INVALID" in str(info.value)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "TOKEN_INVALID", "message": "x"}},
        {"error": {"code": "X", "message": "x", "detail": [1]}},
        {"error": {"code": "X", "detail": {"reason": 5}}},
        "junk",
    ],
)
def test_verify_rejection_without_a_reason(client, mocked, body):
    mocked.post(VERIFY, json=body, status=422)
    with pytest.raises(TokenRejected) as info:
        client.verify_token("tok")
    assert info.value.reason == "invalid"


@pytest.mark.parametrize("status", [401, 403])
def test_wrong_credential(client, mocked, status):
    mocked.post(VERIFY, json={"error": {"code": "UNAUTHORIZED", "message": "no"}}, status=status)
    mocked.post(EVENTS, status=status)
    with pytest.raises(RegistryCredentialRejected) as first:
        client.verify_token("tok")
    with pytest.raises(RegistryCredentialRejected) as second:
        client.post_events(events())
    assert len(mocked.calls) == 2
    assert_secret_hidden(first.value, second.value, client)


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"status": 504},
        {"body": requests.ConnectionError("refused")},
        {"body": requests.ReadTimeout("slow")},
        {"body": requests.ConnectTimeout("slow")},
    ],
)
def test_retries_then_success(client, mocked, sleeps, failure):
    mocked.post(VERIFY, **failure)
    mocked.post(VERIFY, **failure)
    mocked.post(VERIFY, json={"claims": CLAIMS.to_dict()})
    assert client.verify_token("tok") == CLAIMS
    assert len(mocked.calls) == 3
    assert sleeps == [0.5, 1.0]


def test_retries_exhausted(client, mocked, sleeps):
    mocked.post(VERIFY, status=503)
    with pytest.raises(IndexUnavailable) as info:
        client.verify_token("tok")
    assert len(mocked.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert "HTTP 503" in str(info.value)
    assert_secret_hidden(info.value)


def test_network_errors_exhausted_hide_the_credential(mocked, sleeps):
    client = IndexClient(BASE, "reg-1", SECRET, retries=1, sleep=sleeps)
    mocked.post(EVENTS, body=requests.ConnectionError(f"boom {BASIC}"))
    with pytest.raises(IndexUnavailable) as info:
        client.post_events(events())
    assert len(mocked.calls) == 2
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert_secret_hidden(info.value)


def test_zero_retries_means_one_attempt(mocked, sleeps):
    client = IndexClient(BASE, "reg-1", SECRET, retries=0, sleep=sleeps)
    mocked.post(VERIFY, status=500)
    with pytest.raises(IndexUnavailable):
        client.verify_token("tok")
    assert len(mocked.calls) == 1 and sleeps == []


def test_other_request_errors_are_not_retried(client, mocked):
    mocked.post(VERIFY, body=requests.TooManyRedirects("loop"))
    with pytest.raises(IndexUnavailable):
        client.verify_token("tok")
    assert len(mocked.calls) == 1


DEEP = '{"claims": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, "not json"),
        (200, {"nope": 1}),
        (200, {"claims": {"iss": "x"}}),
        (200, []),
        (404, {}),
        (501, {}),
        (200, DEEP),
    ],
)
def test_verify_unexpected_replies(client, mocked, status, body):
    mocked.post(
        VERIFY, status=status, **({"body": body} if isinstance(body, str) else {"json": body})
    )
    with pytest.raises(IndexUnavailable):
        client.verify_token("tok")
    assert len(mocked.calls) == 1


@pytest.mark.parametrize("status", [200, 202, 204])
def test_post_events_success(client, mocked, status):
    batch = events()
    mocked.post(
        EVENTS,
        status=status,
        match=[
            matchers.header_matcher({"Authorization": BASIC, "Content-Type": EVENTS_MEDIA_TYPE}),
        ],
    )
    client.post_events(batch)
    assert load_envelope(json.loads(mocked.calls[0].request.body), strict=True) == batch


def test_post_no_events_sends_nothing(client, mocked):
    client.post_events([])
    assert len(mocked.calls) == 0


def test_ping_posts_an_empty_envelope(client, mocked):
    mocked.post(EVENTS, status=200, json={"accepted": 0, "duplicates": 0, "refused": []})
    client.ping()
    assert json.loads(mocked.calls[0].request.body) == {"events": []}
    assert mocked.calls[0].request.headers["Authorization"] == BASIC
    mocked.replace(responses.POST, EVENTS, status=401)
    with pytest.raises(RegistryCredentialRejected):
        client.ping()
    mocked.replace(responses.POST, EVENTS, status=400)
    with pytest.raises(IndexUnavailable, match="HTTP 400"):
        client.ping()


@pytest.mark.parametrize("status", [400, 422])
def test_events_rejected_not_retried(client, mocked, status, sleeps):
    mocked.post(
        EVENTS, status=status, json={"error": {"code": "EVENTS_INVALID", "message": "bad target"}}
    )
    with pytest.raises(EventsRejected, match="EVENTS_INVALID: bad target"):
        client.post_events(events())
    assert len(mocked.calls) == 1 and sleeps == []


@pytest.mark.parametrize("body", ["<html>", '{"error": ' + "[" * 100_000 + "]" * 100_000 + "}"])
def test_events_rejected_with_a_non_json_body(client, mocked, body):
    mocked.post(EVENTS, status=400, body=body)
    with pytest.raises(EventsRejected, match="HTTP 400"):
        client.post_events(events())


def test_events_retried_then_unavailable_or_other_status(client, mocked):
    mocked.post(EVENTS, status=502)
    with pytest.raises(IndexUnavailable):
        client.post_events(events())
    assert len(mocked.calls) == 4
    mocked.replace(responses.POST, EVENTS, status=404)
    with pytest.raises(IndexUnavailable, match="HTTP 404"):
        client.post_events(events())


def test_constructor_checks_and_repr():
    for name, credential in (("", SECRET), ("reg-1", "")):
        with pytest.raises(ValueError):
            IndexClient(BASE, name, credential)
    with pytest.raises(ValueError):
        IndexClient(BASE, "reg-1", SECRET, retries=-1)
    client = IndexClient(BASE + "/", "reg-1", SECRET)
    assert client.base_url == BASE
    assert "reg-1" in repr(client)
    assert_secret_hidden(client)
    assert SECRET not in str(vars(client).get("registry_name"))
    client.close()


@pytest.mark.parametrize(
    "body, refused",
    [
        (
            {"accepted": 2, "duplicates": 0, "refused": [{"id": "e1", "reason": "not served"}]},
            [("e1", "not served")],
        ),
        ({"accepted": 1, "duplicates": 0}, []),
        ({"refused": "garbage"}, []),
        ({"refused": [7, {"id": "e2"}]}, [("e2", "")]),
        ([], []),
        ("[" * 100_000, []),
    ],
)
def test_post_events_returns_the_refusals(client, mocked, body, refused):
    mocked.post(EVENTS, status=200, **({"body": body} if isinstance(body, str) else {"json": body}))
    assert client.post_events(events()) == refused


def test_tls_trust_and_client_certificate_go_with_every_call(mocked):
    mocked.post(VERIFY, json={"claims": CLAIMS.to_dict()})
    with IndexClient(BASE, "reg-1", SECRET, verify="/etc/ca.pem", cert=("c.pem", "k.pem")) as c:
        c.verify_token("tok")
    sent = mocked.calls[0].request.req_kwargs
    assert (sent["verify"], sent["cert"]) == ("/etc/ca.pem", ("c.pem", "k.pem"))


def test_system_trust_by_default(client, mocked, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)  # requests' own override of True
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    mocked.post(VERIFY, json={"claims": CLAIMS.to_dict()})
    client.verify_token("tok")
    sent = mocked.calls[0].request.req_kwargs
    assert (sent["verify"], sent["cert"]) == (True, None)


PULLABLE = BASE + "/internal/v1/catalog/pullable"


def test_pullable_sends_the_token_and_names_and_keeps_only_asked_names(client, mocked):
    mocked.post(
        PULLABLE,
        json={"names": ["a/x", "c/z", "not/asked"]},
        match=[
            matchers.header_matcher({"Authorization": BASIC}),
            matchers.json_params_matcher({"token": "tok", "names": ["a/x", "b/y", "c/z"]}),
        ],
    )
    assert client.pullable("tok", ["a/x", "b/y", "c/z"]) == ["a/x", "c/z"]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (422, {"error": {"code": "TOKEN_INVALID", "detail": {"reason": "unknown"}}}, TokenRejected),
        (401, {}, RegistryCredentialRejected),
        (200, {"names": "a/x"}, IndexUnavailable),
        (200, {"other": []}, IndexUnavailable),
        (404, {}, IndexUnavailable),
    ],
)
def test_pullable_refusals_and_unexpected_replies(client, mocked, status, body, error):
    mocked.post(PULLABLE, json=body, status=status)
    with pytest.raises(error):
        client.pullable("tok", ["a/x"])
