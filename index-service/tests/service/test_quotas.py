"""Storage quotas: the use the registries' events give a namespace, and what tokens carry.

The use is kept by the database (migration 0016); every step here is also checked against
a count from scratch (:func:`recount`), so a drift of the incremental count shows.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from wharf_index.app import create_app
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, quotas, repositories
from wharf_protocol import mediatypes
from wharf_protocol.events import Actor, Descriptor, Target, new_event
from wharf_protocol.policy import NamespaceQuota

from tests.service.conftest import REGISTRY, access_of, basic

A, B, C = ("sha256:" + c * 64 for c in "abc")
CONFIG1, CONFIG2 = ("sha256:" + c * 64 for c in "12")
BASE, APP1, APP2 = ("sha256:" + c * 64 for c in "def")
SIZES = {A: 500, B: 600, C: 700, CONFIG1: 10, CONFIG2: 20, BASE: 10_000, APP1: 1_000, APP2: 2_000}

# The use counted from scratch: the distinct blobs of the namespace's manifest rows.
RECOUNT = """
SELECT least(coalesce(sum(bytes), 0), 9223372036854775807)::bigint FROM (
  SELECT DISTINCT ON (b.blob) b.bytes FROM manifests m
   CROSS JOIN LATERAL manifest_blobs(m.digest, m.size, m.config_digest, m.config_size,
                                     m.layers) b
   WHERE m.namespace_id = (SELECT id FROM namespaces WHERE name = %s)
   ORDER BY b.blob) d
"""


def manifest(repository, digest, config, layers, tag="latest"):
    refs = (
        Descriptor(mediatypes.OCI_CONFIG, config, SIZES[config]),
        *(Descriptor(mediatypes.OCI_LAYER_GZIP, d, SIZES[d]) for d in layers),
    )
    target = Target(
        mediatypes.OCI_MANIFEST, digest, SIZES[digest], repository, tag=tag, references=refs
    )
    return new_event("push", target, actor=Actor("alice"))


def delete(repository, tag="", digest=""):
    return new_event("delete", Target("", digest, None, repository, tag=tag))


@pytest.fixture
def use(uow, sql):
    """use(namespace) -> its use as stored, after checking it against a recount."""

    def read(namespace: str) -> int:
        stored = quotas.get_quota(uow, SYSTEM, namespace).used
        assert sql(RECOUNT, (namespace,)) == [(stored,)]
        return stored

    return read


@pytest.fixture
def repos(make_repo):
    return [make_repo(name) for name in ("alice/app", "alice/tool", "bob/app")]


def test_a_push_counts_the_manifest_its_config_and_layers_once(index_client, use, repos):
    assert use("alice") == 0
    index_client.post_events([manifest("alice/app", A, CONFIG1, [BASE, APP1])])
    assert use("alice") == 500 + 10 + 10_000 + 1_000
    index_client.post_events([manifest("alice/app", A, CONFIG1, [BASE, APP1], tag="v1")])
    assert use("alice") == 11_510  # the same manifest under another tag: nothing new
    assert use("bob") == 0


def test_layers_shared_across_repositories_count_once_per_namespace(index_client, use, repos):
    index_client.post_events(
        [
            manifest("alice/app", A, CONFIG1, [BASE, APP1]),
            manifest("alice/tool", B, CONFIG2, [BASE, APP2]),
            manifest("bob/app", C, CONFIG1, [BASE]),
        ]
    )
    assert use("alice") == (500 + 10 + 10_000 + 1_000) + (600 + 20 + 2_000)
    assert use("bob") == 700 + 10 + 10_000  # another namespace counts its own copy


def test_an_overwritten_tag_keeps_its_old_manifest_counted_until_it_is_deleted(
    index_client, use, repos
):
    index_client.post_events([manifest("alice/app", A, CONFIG1, [BASE, APP1])])
    index_client.post_events([manifest("alice/app", B, CONFIG2, [BASE, APP2])])
    both = 500 + 10 + 10_000 + 1_000 + 600 + 20 + 2_000
    assert use("alice") == both  # the registry still serves A by digest
    index_client.post_events([delete("alice/app", digest=A)])
    assert use("alice") == 600 + 20 + 10_000 + 2_000  # BASE is still B's


def test_deleting_a_tag_lowers_the_use_only_with_its_manifest(index_client, use, repos):
    index_client.post_events(
        [
            manifest("alice/app", A, CONFIG1, [BASE, APP1], tag="v1"),
            manifest("alice/app", A, CONFIG1, [BASE, APP1], tag="v2"),
        ]
    )
    index_client.post_events([delete("alice/app", tag="v1")])
    assert use("alice") == 11_510  # a tag is no blob: the manifest is still there
    index_client.post_events([delete("alice/app", digest=A)])  # skopeo delete, by digest
    assert use("alice") == 0


def test_a_repository_delete_lowers_the_use_by_what_only_it_referenced(
    index_client, use, repos, uow
):
    index_client.post_events(
        [
            manifest("alice/app", A, CONFIG1, [BASE, APP1]),
            manifest("alice/tool", B, CONFIG2, [BASE, APP2]),
        ]
    )
    index_client.post_events([delete("alice/tool")])  # the registry no longer holds it
    assert use("alice") == 500 + 10 + 10_000 + 1_000
    repositories.delete_repository(uow, "alice/app", principal=SYSTEM)  # scenario C's end
    assert use("alice") == 0
    with uow:
        assert uow.repositories.find("alice/app") is None


def test_a_re_push_with_references_where_there_were_none_counts_them(index_client, use, repos):
    bare = new_event("push", Target(mediatypes.OCI_MANIFEST, A, 500, "alice/app", tag="latest"))
    index_client.post_events([bare])
    assert use("alice") == 500
    index_client.post_events([manifest("alice/app", A, CONFIG1, [BASE])])
    assert use("alice") == 500 + 10 + 10_000


def test_a_deleted_namespace_takes_its_use_along(index_client, use, repos, uow, sql):
    index_client.post_events([manifest("bob/app", C, CONFIG1, [BASE])])
    accounts.delete_user(uow, "bob")
    assert sql("SELECT count(*) FROM namespace_blobs") == [(0,)]
    assert sql("SELECT count(*) FROM namespace_usage") == [(0,)]


def test_a_use_beyond_int64_is_kept_exactly_and_read_clamped(index_client, use, repos, sql):
    huge = 1 << 62
    for digest, layer, config in ((A, APP1, CONFIG1), (B, APP2, CONFIG2)):
        refs = (
            Descriptor(mediatypes.OCI_CONFIG, config, 1),
            Descriptor(mediatypes.OCI_LAYER_GZIP, layer, huge),
        )
        target = Target(mediatypes.OCI_MANIFEST, digest, 100, "alice/app", references=refs)
        index_client.post_events([new_event("push", target, actor=Actor("alice"))])
    assert use("alice") == 2**63 - 1
    assert sql("SELECT used FROM namespace_usage") == [(2 * huge + 202,)]
    index_client.post_events([delete("alice/app", digest=B)])
    assert use("alice") == huge + 101


# -- what tokens carry ----------------------------------------------------------------------


@pytest.fixture
def limited(uow, repos, index_client):
    index_client.post_events([manifest("alice/app", A, CONFIG1, [BASE, APP1])])
    quotas.set_quota(uow, SYSTEM, "alice", 50_000)


def test_a_push_token_carries_the_quota_and_use_of_its_namespaces(get_token, claims_of, limited):
    response = get_token(
        "repository:alice/app:pull,push", "repository:alice/new:push", user="alice"
    )
    claims = claims_of(response.json["token"])
    assert access_of(claims)["repository:alice/app"] == {"pull", "push"}
    assert dict(claims.policy.quotas) == {"alice": NamespaceQuota(50_000, 11_510)}


def test_a_pull_token_carries_no_quota(get_token, claims_of, limited):
    response = get_token("repository:alice/app:pull", user="alice")
    claims = claims_of(response.json["token"])
    assert access_of(claims) == {"repository:alice/app": {"pull"}}
    assert not claims.policy.quotas


def test_push_not_granted_carries_no_quota(get_token, claims_of, limited):
    response = get_token("repository:alice/app:pull,push", user="bob")  # private: nothing
    claims = claims_of(response.json["token"])
    assert not claims.access and not claims.policy.quotas


def test_a_namespace_without_a_limit_gets_no_quota_in_its_tokens(get_token, claims_of, repos, uow):
    claims = claims_of(get_token("repository:alice/app:push", user="alice").json["token"])
    assert not claims.policy.quotas
    quotas.set_quota(uow, SYSTEM, "alice", None)
    claims = claims_of(get_token("repository:alice/app:push", user="alice").json["token"])
    assert not claims.policy.quotas


def test_the_default_quota_applies_unless_one_was_chosen(
    settings, database, registry, claims_of, repos, uow
):
    app = create_app(replace(settings, default_namespace_quota=1 << 30), pool=database)
    client = app.test_client()

    def quota_of(user):
        query = {"service": REGISTRY, "scope": f"repository:{user}/app:push"}
        token = client.get("/v2/token", query_string=query, headers=basic(user)).json["token"]
        return claims_of(token).policy.quota(user)

    assert quota_of("alice") == NamespaceQuota(1 << 30, 0)
    quotas.set_quota(uow, SYSTEM, "alice", None)  # none, whatever the default
    assert quota_of("alice") is None
    quotas.set_quota(uow, SYSTEM, "alice", 5)
    assert quota_of("alice") == NamespaceQuota(5, 0)
    quotas.clear_quota(uow, SYSTEM, "alice")
    assert quota_of("alice") == NamespaceQuota(1 << 30, 0)
