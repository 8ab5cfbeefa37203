"""Star counts kept in ``star_counts`` (migration 0028's triggers on ``stars``): star and
unstar in the same transaction, concurrent stars of one repository, a user's deletion and
disabling, a repository's deletion; and what the home page's list and the API read."""

from __future__ import annotations

import threading

import pytest
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, explore, principals, repositories, stars

pytestmark = pytest.mark.db

FANS = 12


@pytest.fixture
def people(uow, make_user):
    names = ["alice"] + [f"fan{n:02d}" for n in range(FANS)]
    for name in names:
        make_user(name)
    with uow:
        return {n: principals.principal_for(uow, uow.users.get(n)) for n in names}


@pytest.fixture
def app_repo(uow, people):
    return repositories.create_repository(uow, people["alice"], "alice/app", visibility="public")


def _recorded(sql, full_name: str) -> tuple[int, int]:
    """(kept star count, rows of stars) of a repository."""
    ((kept, counted),) = sql(
        "SELECT coalesce(c.star_count, 0),"
        " (SELECT count(*) FROM stars s WHERE s.repository_id = r.id)"
        " FROM repositories r LEFT JOIN star_counts c ON c.repository_id = r.id"
        " WHERE r.full_name = %s",
        (full_name,),
    )
    return kept, counted


def test_star_and_unstar_keep_the_count_and_answer_it(uow, people, app_repo, sql):
    assert stars.star(uow, people["fan00"], "alice/app") == (1, True)
    assert stars.star(uow, people["fan00"], "alice/app") == (1, True)  # idempotent
    assert stars.star(uow, people["fan01"], "alice/app") == (2, True)
    assert stars.unstar(uow, people["fan00"], "alice/app") == (1, False)
    assert stars.unstar(uow, people["fan00"], "alice/app") == (1, False)
    assert _recorded(sql, "alice/app") == (1, 1)
    assert stars.summary(uow, people["fan01"], "alice/app")[1:] == (1, True)


def test_concurrent_stars_and_unstars_of_one_repository_keep_the_count_true(
    database, service_config, people, app_repo, sql
):
    failures: list[BaseException] = []
    start = threading.Barrier(FANS)

    def run(name: str) -> None:
        uow = PgUnitOfWork(database, service_config)
        try:
            start.wait(timeout=30)
            for round_ in range(7):  # star, unstar, ... star; then odd fans unstar
                if round_ % 2 == 0:
                    stars.star(uow, people[name], "alice/app")
                else:
                    stars.unstar(uow, people[name], "alice/app")
            if int(name[3:]) % 2:
                stars.unstar(uow, people[name], "alice/app")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(f"fan{n:02d}",)) for n in range(FANS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert _recorded(sql, "alice/app") == (FANS // 2, FANS // 2)


def test_a_deleted_user_takes_their_stars_a_disabled_one_keeps_them(uow, people, app_repo, sql):
    for name in ("fan00", "fan01", "fan02"):
        stars.star(uow, people[name], "alice/app")
    accounts.set_disabled(uow, "fan01", True)
    assert _recorded(sql, "alice/app") == (3, 3)  # as counting the rows did: disabled count
    accounts.delete_user(uow, "fan00")
    assert _recorded(sql, "alice/app") == (2, 2)


def test_deleting_a_starred_repository_or_its_owner_works(uow, people, app_repo, sql):
    other = repositories.create_repository(uow, people["fan03"], "fan03/tool", visibility="public")
    stars.star(uow, people["fan00"], "alice/app")
    stars.star(uow, people["fan00"], "fan03/tool")
    stars.star(uow, people["fan03"], "alice/app")
    assert repositories.delete_repository(uow, other.full_name, principal=SYSTEM)
    assert sql("SELECT count(*) FROM stars WHERE repository_id = %s", (other.id,)) == [(0,)]
    accounts.delete_user(uow, "fan03")  # their namespace goes, and their star elsewhere
    assert _recorded(sql, "alice/app") == (1, 1)


def test_most_starred_lists_public_repositories_by_their_kept_count(uow, people, sql):
    alice = people["alice"]
    for name, visibility, fans in (
        ("alice/one", "public", 1),
        ("alice/three", "public", 3),
        ("alice/hidden", "private", 5),
        ("alice/none", "public", 0),
    ):
        repositories.create_repository(uow, alice, name, visibility=visibility)
        for n in range(fans):
            stars.star(uow, alice if name == "alice/hidden" else people[f"fan{n:02d}"], name)
    sql(
        "INSERT INTO stars (user_id, repository_id) SELECT u.id, r.id FROM users u,"
        " repositories r WHERE r.full_name = 'alice/hidden' AND u.username LIKE 'fan%%'"
    )

    _, starred = explore.home(uow)

    assert [(row.repository.full_name, row.stars) for row in starred] == [
        ("alice/three", 3),
        ("alice/one", 1),
    ]
    repositories.set_visibility(uow, alice, "alice/three", "private")
    _, starred = explore.home(uow)
    assert [row.repository.full_name for row in starred] == ["alice/one"]


def test_statements_touching_many_stars_at_once_keep_every_count(uow, people, app_repo, sql):
    other = repositories.create_repository(uow, people["alice"], "alice/other", visibility="public")
    sql(
        "INSERT INTO stars (user_id, repository_id) SELECT id, %s FROM users",
        (app_repo.id,),
    )
    assert _recorded(sql, "alice/app") == (FANS + 1, FANS + 1)
    sql(
        "UPDATE stars SET repository_id = %s WHERE user_id IN"
        " (SELECT id FROM users WHERE username IN ('fan00', 'fan01'))",
        (other.id,),
    )
    sql("DELETE FROM stars WHERE user_id IN (SELECT id FROM users WHERE username = 'fan02')")
    assert _recorded(sql, "alice/app") == (FANS - 2, FANS - 2)
    assert _recorded(sql, "alice/other") == (2, 2)
