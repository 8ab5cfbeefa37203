"""The Index's reads of single documents at a registry, for the tag page
(adapters/registry_http.py): a manifest by digest, an image config blob (size-capped) and
the referrers list, against the registry double (tests/registry_double.py)."""

from __future__ import annotations

import json

import pytest
import responses
from wharf_index.domain import errors
from wharf_index.services import registry_agent
from wharf_protocol import mediatypes
from wharf_protocol.scopes import Scope

from tests.registry_double import (
    FakeRegistry,
    digest_of,
    make_agent,
    manifest_bytes,
    verifier_for,
)
from tests.service.conftest import REGISTRY, REGISTRY_URL

NAME = "alice/app"


@pytest.fixture
def agent(settings, database):
    return make_agent(settings, database)


@pytest.fixture
def fake(settings, database, registry):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeRegistry(mock, REGISTRY_URL, verifier_for(settings, database), REGISTRY)


@pytest.fixture
def call(uow, agent, registry, fake):
    """call(method, *args): the client's ``method`` with a pull token for alice/app."""
    scope = Scope("repository", NAME, frozenset({"pull"}))
    token = registry_agent.mint(uow, agent, registry[0], (scope,))
    return lambda method, *args, **kwargs: getattr(agent.http, method)(
        registry[0], NAME, *args, token, **kwargs
    )


def test_a_manifest_is_read_by_digest_with_its_media_type(fake, call):
    child = manifest_bytes("child")
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [
                {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest_of(child), "size": 9}
            ],
        }
    ).encode()
    fake.push_manifest(NAME, child)
    fake.push(NAME, "latest", index)

    assert call("manifest_document", digest_of(index)) == (index, mediatypes.OCI_INDEX)
    assert call("manifest_document", digest_of(child)) == (child, mediatypes.OCI_MANIFEST)
    assert call("manifest_document", "sha256:" + "0" * 64) is None
    assert ("GET", f"/v2/{NAME}/manifests/{digest_of(child)}") in [c[:2] for c in fake.calls]


def test_a_manifest_that_does_not_hash_to_its_digest_is_refused(fake, call):
    other = "sha256:" + "1" * 64
    fake.manifests.setdefault(NAME, {})[other] = manifest_bytes("substituted")

    with pytest.raises(errors.RegistryRefused, match="does not match"):
        call("manifest_document", other)


def test_a_config_blob_is_read_whole_when_small_and_refused_when_large(fake, call):
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()
    digest = fake.push_blob(NAME, config)
    big = fake.push_blob(NAME, b"x" * 2048)

    assert call("config_blob", digest) == config
    assert call("config_blob", "sha256:" + "2" * 64) is None
    with pytest.raises(errors.RegistryRefused, match="larger than 1024 bytes"):
        call("config_blob", big, limit=1024)


def test_a_config_blob_redirected_to_storage_is_read_there_without_the_token(fake, call):
    config = b'{"architecture": "arm64", "os": "linux"}'
    digest = fake.push_blob(NAME, config)
    fake.storage = "http://storage.test"

    assert call("config_blob", digest) == config
    [headers] = fake.storage_calls
    assert "Authorization" not in headers


def test_referrers_are_the_manifests_whose_subject_is_the_digest(fake, call):
    subject = manifest_bytes("signed")
    fake.push(NAME, "1", subject)
    signature = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": "sha256:" + "3" * 64,
                       "size": 2},
            "layers": [],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest_of(subject),
                        "size": len(subject)},
        }
    ).encode()  # fmt: skip
    fake.push_manifest(NAME, signature)

    [found] = call("referrers", digest_of(subject))
    assert found["digest"] == digest_of(signature)
    assert found["artifactType"] == "application/vnd.dev.cosign.artifact.sig.v1+json"
    assert call("referrers", digest_of(signature)) == []

    fake.referrers_api = False
    assert call("referrers", digest_of(subject)) is None


def test_a_registry_down_is_unavailable(fake, call):
    fake.down = True
    for method in ("manifest_document", "config_blob", "referrers"):
        with pytest.raises(errors.RegistryUnavailable):
            call(method, "sha256:" + "4" * 64)
