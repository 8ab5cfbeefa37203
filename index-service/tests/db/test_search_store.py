"""PgSearchStore against PostgreSQL: one matching for both searches, the rank tiers, keyset
pages across equal ranks, privacy on every plan (trigram indexes, short queries, similar
names), and planner settings that end with the transaction."""

from __future__ import annotations

import pytest
from wharf_index.domain.model import ANONYMOUS
from wharf_index.services import authentication, repositories

from tests.conftest import PASSWORD


@pytest.fixture
def people(uow, make_user):
    for name in ("alice", "bob"):
        make_user(name)
    return {n: authentication.authenticate(uow, n, PASSWORD) for n in ("alice", "bob")}


@pytest.fixture
def corpus(uow, people):
    def make(full_name, visibility="public", description=""):
        owner = people[full_name.split("/")[0]]
        repositories.create_repository(
            uow, owner, full_name, visibility=visibility, description=description
        )

    make("alice/redis", description="cache")
    make("alice/redis-exporter", description="metrics")
    make("bob/my-redis-fork")
    make("bob/cache", description="a redis compatible store")
    make("bob/reddis")  # similar to "redis", does not contain it
    make("alice/redis-secret", "private", "private redis build")
    for i in range(10, 22):  # same rank for "redis-1": ties broken by full name
        make(f"bob/redis-{i}")
    return people


def _ranked(uow, principal, query, *, limit=100, after=None, namespace_id=None):
    with uow:
        return uow.search.search(
            principal, query, namespace_id=namespace_id, after=after, limit=limit
        )


def _names(rows):
    return [repo.full_name for repo, _ in rows]


def test_rank_tiers_exact_prefix_contains_description_similar(uow, corpus):
    found = _names(_ranked(uow, ANONYMOUS, "redis"))
    assert found[0] == "alice/redis"  # exact
    assert set(found[1:14]) == {"alice/redis-exporter"} | {f"bob/redis-{i}" for i in range(10, 22)}
    assert found.index("bob/my-redis-fork") < found.index("bob/cache") < found.index("bob/reddis")
    assert found[-1] == "bob/reddis"  # only trigram-similar: lowest
    assert "alice/redis-secret" not in found
    assert _names(_ranked(uow, ANONYMOUS, "REDIS")) == found


def test_keyset_pages_cross_equal_ranks(uow, corpus):
    everything = _ranked(uow, ANONYMOUS, "redis-1")
    ranks = [rank for _, rank in everything]
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) < len(ranks)  # ties exist, so some page boundary splits them
    pages, after = [], None
    while True:
        page = _ranked(uow, ANONYMOUS, "redis-1", limit=3, after=after)
        pages += page
        if len(page) < 3:
            break
        after = (page[-1][1], page[-1][0].full_name)
    assert _names(pages) == _names(everything)


@pytest.mark.parametrize(
    "query",
    ["redis", "re", "s", "reddis", "%", "_", "\\", "' OR 1=1 --", "---", "secret", "private redis"],
)
def test_private_repositories_only_for_those_who_may_see_them(uow, corpus, query):
    for outsider in (ANONYMOUS, corpus["bob"]):
        assert "alice/redis-secret" not in _names(_ranked(uow, outsider, query))
        with uow:
            rows, total = uow.search.page(outsider, query, limit=100, offset=0)
        assert "alice/redis-secret" not in [repo.full_name for repo in rows]
        assert total == len(rows)
    if query in ("redis", "re", "s", "secret", "private redis"):
        assert "alice/redis-secret" in _names(_ranked(uow, corpus["alice"], query))
        with uow:
            rows, _ = uow.search.page(corpus["alice"], query, limit=100, offset=0)
        assert "alice/redis-secret" in [repo.full_name for repo in rows]


def test_wildcards_are_literal(uow, corpus):
    assert _ranked(uow, ANONYMOUS, "%") == []
    assert _ranked(uow, ANONYMOUS, "re_is") == []
    assert _names(_ranked(uow, ANONYMOUS, "redis-exporter")) == ["alice/redis-exporter"]


def test_short_queries_match_by_containment(uow, corpus):
    found = _names(_ranked(uow, ANONYMOUS, "ca"))
    assert found == ["bob/cache", "alice/redis"]  # name before description


def test_namespace_filter(uow, corpus):
    with uow:
        bob = uow.namespaces.get("bob").id
    found = _names(_ranked(uow, ANONYMOUS, "redis", namespace_id=bob))
    assert found and all(name.startswith("bob/") for name in found)


def test_page_by_name_with_total_and_offsets(uow, corpus):
    with uow:
        first, total = uow.search.page(ANONYMOUS, "redis", limit=4, offset=0)
        beyond, total_beyond = uow.search.page(ANONYMOUS, "redis", limit=4, offset=100)
        everything, count = uow.search.page(ANONYMOUS, "", limit=100, offset=0)
    names = [repo.full_name for repo in first]
    assert names == ["alice/redis", "alice/redis-exporter", "bob/cache", "bob/my-redis-fork"]
    assert "bob/reddis" not in names  # /v1/search matches by containment only
    assert (total, total_beyond, beyond) == (16, 16, [])
    assert count == len(everything) == 17
    assert all(repo.star_count == 0 for repo in first)


def test_planner_settings_end_with_the_transaction(uow, corpus):
    _ranked(uow, ANONYMOUS, "redis")
    with uow, uow.conn.cursor() as cur:
        cur.execute("SHOW enable_seqscan")
        assert cur.fetchone() == ("on",)
