"""The registry directory and registry credentials."""

from __future__ import annotations

import pytest
from wharf_index.domain import errors
from wharf_index.services import authentication, registries

from tests.conftest import PASSWORD


def test_add_authenticate_list_remove(uow, db_url):
    name = "registry.local:5000"
    registry, credential = registries.add_registry(
        uow, name, "http://127.0.0.1:5000", "private", ["alice", "acme", "alice"]
    )
    assert registry.namespaces == ("acme", "alice")
    assert registries.authenticate_registry(uow, name, credential).id == registry.id
    wrong = credential[:-1] + ("x" if credential[-1] != "x" else "y")
    for name, secret in (
        ("registry.local:5000", wrong),
        ("other", credential),
        ("registry.local:5000", ""),
        (None, credential),
    ):
        with pytest.raises(errors.RegistryCredentialInvalid):
            registries.authenticate_registry(uow, name, secret)
    assert [r.name for r in registries.list_registries(uow)] == ["registry.local:5000"]
    assert [r.name for r in registries.holders(uow, "acme/app")] == ["registry.local:5000"]
    assert registries.holders(uow, "nobody/app") == []
    import psycopg2

    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT credential_hash FROM registries")
        assert credential.encode() not in bytes(cur.fetchone()[0])
    conn.close()
    registries.remove_registry(uow, "registry.local:5000")
    with pytest.raises(errors.RegistryCredentialInvalid):
        registries.authenticate_registry(uow, "registry.local:5000", credential)
    with pytest.raises(errors.RegistryNotFound):
        registries.remove_registry(uow, "registry.local:5000")


def test_rules(uow, make_user):
    registries.add_registry(uow, "hub", "https://hub.example", "sponsor")
    with pytest.raises(errors.RegistryExists):
        registries.add_registry(uow, "hub", "https://hub.example", "sponsor")
    for args in (
        ("Bad Name", "https://x", "private"),
        ("x", "ftp://x", "private"),
        ("x", "https://x", "public"),
        ("x", "https://x", "private", ["Bad/NS"]),
    ):
        with pytest.raises(errors.Invalid):
            registries.add_registry(uow, *args)
    make_user("bob")
    bob = authentication.authenticate(uow, "bob", PASSWORD)
    with pytest.raises(errors.PermissionDenied):
        registries.add_registry(uow, "mine", "https://x", "private", actor=bob)


def test_rotate_credential(uow):
    _, old = registries.add_registry(uow, "hub", "https://hub.example", "mirror", ["alice"])
    new = registries.rotate_credential(uow, "hub")
    assert registries.authenticate_registry(uow, "hub", new).name == "hub"
    with pytest.raises(errors.RegistryCredentialInvalid):
        registries.authenticate_registry(uow, "hub", old)


def test_the_indexs_own_service_name_is_no_registrys(uow):
    """Tokens for the Index's own service (docker login to the Index) grant nothing; a
    registry under that name would be handed such tokens as if they were its own."""
    with pytest.raises(errors.NameInvalid, match="INDEX_TOKEN_ISSUER"):
        registries.add_registry(uow, uow.config.index_service, "http://127.0.0.1:5000", "private")
    assert registries.list_registries(uow) == []


@pytest.mark.parametrize(
    "url, ok",
    [
        ("http://[::1]:5000", True),
        ("https://[2001:db8::7]/", True),
        ("http://registry.example:65535/v", True),
        ("http://registry.example:65536", False),
        ("http://registry.example:0", False),
        ("http://[nope]:5000", False),
        ("http://[B852c0]:5000", False),
        ("http://[1::2::3]", False),
        ("ftp://registry.example", False),
    ],
)
def test_registry_urls(uow, url, ok):
    """Host names, IPv4 and bracketed IPv6 literals, ports 1..65535 (RFC 3986 3.2)."""
    if ok:
        assert registries.add_registry(uow, "reg.test", url, "private")[0].url == url.rstrip("/")
    else:
        with pytest.raises(errors.ValueInvalid):
            registries.add_registry(uow, "reg.test", url, "private")


def test_last_events_tell_when_each_registry_last_sent_an_event(uow, sql):
    registries.add_registry(uow, "one.test", "https://one.test", "private")
    registries.add_registry(uow, "two.test", "https://two.test", "private")
    assert registries.last_events(uow) == {}
    sql(
        "INSERT INTO processed_events (event_id, registry_id, action, processed_at)"
        " SELECT 'e' || n, id, 'push', timestamptz '2026-01-01T00:00:00Z' + n * interval '1 hour'"
        " FROM registries, generate_series(1, 3) n WHERE name = 'one.test'"
    )
    (name, at), *others = registries.last_events(uow).items()
    assert name == "one.test" and not others
    assert at.isoformat().startswith("2026-01-01T03:00:00")
