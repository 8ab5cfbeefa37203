"""What the token endpoint's commits wait for: a repository allocated on push (scenario B)
and its audit row commit durably (``synchronous_commit`` on); a request that only records
its token commits without waiting for the WAL flush.

Deferred constraint triggers fire at COMMIT, so they see the ``synchronous_commit`` the
commit uses; they note it per table in a database of the test's own (whose default is
``on``: the harness's server runs with it off).
"""

from __future__ import annotations

import dataclasses

import psycopg2
import pytest
from wharf_index.adapters.db import Database
from wharf_index.adapters.unit_of_work import PgUnitOfWork
from wharf_index.app import create_app
from wharf_index.domain.model import SYSTEM
from wharf_index.services import accounts, registries

from tests.conftest import PASSWORD
from tests.service.conftest import REGISTRY, REGISTRY_URL, basic

pytestmark = pytest.mark.db

_NOTE_COMMITS = """
CREATE TABLE commit_settings (tbl text NOT NULL, setting text NOT NULL);
CREATE FUNCTION note_commit_setting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO commit_settings VALUES (TG_TABLE_NAME, current_setting('synchronous_commit'));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER note_commit AFTER INSERT ON repositories
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION note_commit_setting();
CREATE CONSTRAINT TRIGGER note_commit AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION note_commit_setting();
CREATE CONSTRAINT TRIGGER note_commit AFTER INSERT ON issued_tokens
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION note_commit_setting();
"""


def _run(url, statement):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


@pytest.fixture
def noted_url(postgres_database, template_db):
    url = postgres_database(template=template_db)
    name = url.rsplit("/", 1)[1]
    _run(url, f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    _run(url, _NOTE_COMMITS)
    return url


@pytest.fixture
def noted_client(noted_url, settings, service_config):
    db = Database(noted_url, minconn=0, maxconn=2)
    uow = PgUnitOfWork(db, service_config)
    accounts.create_user(uow, "alice", "alice@example.test", PASSWORD)
    registries.add_registry(uow, REGISTRY, REGISTRY_URL, "private", actor=SYSTEM)
    _run(noted_url, "DELETE FROM commit_settings")
    app = create_app(dataclasses.replace(settings, database_url=noted_url), pool=db)
    yield app.test_client()
    db.close()


def _token(client, scope):
    query = {"service": REGISTRY, "scope": scope}
    return client.get("/v2/token", query_string=query, headers=basic("alice"))


def test_an_allocation_commits_durably_and_a_bare_token_record_does_not(noted_client, noted_url):
    allocated = _token(noted_client, "repository:alice/new:push,pull")
    assert allocated.status_code == 200
    noted = _run(noted_url, "SELECT tbl, setting FROM commit_settings ORDER BY tbl")
    assert ("repositories", "on") in noted and ("audit_log", "on") in noted
    assert {setting for _, setting in noted} == {"on"}  # one transaction, one commit

    _run(noted_url, "DELETE FROM commit_settings")
    again = _token(noted_client, "repository:alice/new:push,pull")  # exists now: no allocation
    assert again.status_code == 200
    assert _run(noted_url, "SELECT tbl, setting FROM commit_settings") == [("issued_tokens", "off")]
