"""The throwaway PostgreSQL: templates, restarts, clean shutdown, the missing-binary message."""

import os

import pytest
from wharf_testing.postgres import (
    ExternalPostgres,
    PostgresNotFound,
    PostgresServer,
    find_bindir,
)


def test_database_copied_from_template_holds_its_tables(postgres, postgres_database):
    template = postgres_database()
    postgres.execute("CREATE TABLE repos (name text)", template)
    postgres.execute("INSERT INTO repos VALUES ('library/alpine')", template)

    copy = postgres_database(template=template.rsplit("/", 1)[1])

    copy_name = copy.rsplit("/", 1)[1]
    assert postgres.execute("SELECT name FROM repos", copy_name) == [("library/alpine",)]


def test_database_factory_drops_its_databases(postgres, postgres_database):
    name = postgres_database().rsplit("/", 1)[1]
    postgres.drop_database(name)
    rows = postgres.execute("SELECT 1 FROM pg_database WHERE datname = %s", params=(name,))
    assert rows == []


def test_url_points_at_loopback(postgres):
    assert postgres.url("x").endswith("/x")
    assert postgres.execute("SELECT current_user") == [(postgres.user,)]


@pytest.fixture(scope="module")
def own_server():
    server = PostgresServer().start()
    yield server
    server.stop()


def test_restart_keeps_data_and_port(own_server):
    own_server.execute("CREATE TABLE kept (x int)")
    own_server.execute("INSERT INTO kept VALUES (7)")
    port, pid = own_server.port, own_server.pid

    own_server.restart()

    assert own_server.port == port
    assert own_server.pid != pid
    assert own_server.execute("SELECT x FROM kept") == [(7,)]


def test_stop_leaves_no_process_and_no_files():
    server = PostgresServer().start()
    pid, workdir = server.pid, server.workdir

    server.stop()

    assert not os.path.exists(f"/proc/{pid}")
    assert not os.path.exists(workdir)


def test_listens_on_loopback_without_unix_socket(own_server):
    assert own_server.execute("SHOW listen_addresses") == [("127.0.0.1",)]
    assert own_server.execute("SHOW unix_socket_directories") == [("",)]
    assert own_server.execute("SHOW fsync") == [("off",)]


def test_missing_binaries_say_what_to_install(tmp_path):
    with pytest.raises(PostgresNotFound) as info:
        find_bindir([str(tmp_path)])
    assert "apt-get install postgresql" in str(info.value)
    assert "INDEX_TEST_DATABASE_URL" in str(info.value)


def test_missing_binaries_via_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("WHARF_TEST_PG_BINDIR", str(tmp_path))
    server = PostgresServer()
    with pytest.raises(PostgresNotFound, match=str(tmp_path)):
        server.start()
    assert server.workdir is None


def test_external_server_has_the_same_api(postgres):
    external = ExternalPostgres(postgres.url("postgres"))
    url = external.create_database("wharf_external_check")
    try:
        assert url.endswith("/wharf_external_check")
        assert external.execute("SELECT 1", "wharf_external_check") == [(1,)]
    finally:
        external.drop_database("wharf_external_check")
    external.stop()
    with pytest.raises(RuntimeError, match="INDEX_TEST_DATABASE_URL"):
        external.restart()
