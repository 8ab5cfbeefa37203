"""Several registries for one repository (services/chaining.py, services/routes.py): holders
and mirrors named by X-Docker-Endpoints and the API, handed out in a weighted rotation, never
for a repository the caller may not see; namespace routes deciding where pushes go."""

from __future__ import annotations

from collections import Counter

import pytest
from wharf_index.domain.model import SYSTEM
from wharf_index.services import events, registries, routes

from tests.registry_double import manifest_bytes, push_event
from tests.service.conftest import REGISTRY, access_of, basic

API = "/api/v1"
WANT_TOKEN = {"X-Docker-Token": "true"}


def _add(uow, name, *namespaces, kind="private", **options):
    return registries.add_registry(
        uow, name, f"https://{name}", kind, list(namespaces), actor=SYSTEM, **options
    )[0]


@pytest.fixture
def chain(uow, registry, make_repo):
    """registry.test (every namespace) holds alice/z; east mirrors it for alice, west
    mirrors east (a chain) for alice, north mirrors it for bob only, south mirrors it for
    alice with weight 0 (a mirror serves only the namespaces it declared)."""
    make_repo("alice/z", "public")
    events.ingest(uow, registry[0], [push_event("alice/z", "1", manifest_bytes("z"))])
    _add(uow, "east", "alice", kind="mirror", upstream=REGISTRY)
    _add(uow, "west", "alice", kind="mirror", upstream="east")
    _add(uow, "north", "bob", kind="mirror", upstream=REGISTRY)
    _add(uow, "south", "alice", kind="mirror", upstream=REGISTRY, weight=0)


def _endpoints(response) -> list[str]:
    return response.headers["X-Docker-Endpoints"].split(",")


def test_holders_and_their_mirrors_are_listed_with_their_roles(client, chain):
    listed = client.get(f"{API}/repositories/alice/z/-/registries").get_json()["items"]
    assert [(r["name"], r["role"]) for r in listed] == [
        ("east", "mirror"),
        (REGISTRY, "holder"),
        ("south", "mirror"),
        ("west", "mirror"),
    ]
    assert listed[0] == {
        "name": "east",
        "url": "https://east",
        "kind": "mirror",
        "weight": 1,
        "role": "mirror",
    }
    detail = client.get(f"{API}/repositories/alice/z").get_json()["registries"]
    assert sorted(r["name"] for r in detail) == ["east", REGISTRY, "south", "west"]
    assert detail[-1]["name"] == "south"  # weight 0: listed, never first
    images = client.get("/v1/repositories/alice/z/images", headers=WANT_TOKEN)
    assert sorted(_endpoints(images)) == ["east", "registry.test:5000", "south", "west"]
    assert _endpoints(images)[-1] == "south"


def test_a_registry_holding_the_repository_is_a_holder_not_a_mirror(client, uow, chain):
    east = registries.get_registry(uow, "east")
    events.ingest(uow, east, [push_event("alice/z", "2", manifest_bytes("z2"))])
    listed = client.get(f"{API}/repositories/alice/z/-/registries").get_json()["items"]
    assert [(r["name"], r["role"]) for r in listed] == [
        ("east", "holder"),
        (REGISTRY, "holder"),
        ("south", "mirror"),
        ("west", "mirror"),
    ]


def test_nothing_is_named_for_a_repository_the_caller_may_not_see(
    client, uow, chain, make_repo, sql
):
    make_repo("alice/secret")
    events.ingest(
        uow,
        registries.get_registry(uow, REGISTRY),
        [push_event("alice/secret", "1", manifest_bytes("s"))],
    )
    for headers in ({}, basic("bob")):
        for path in ("", "/-/registries", "/-/registry"):
            response = client.get(f"{API}/repositories/alice/secret{path}", headers=headers)
            assert response.status_code == 404, path
            assert response.get_json()["error"]["code"] == "REPOSITORY_UNKNOWN"
            assert "east" not in response.get_data(as_text=True)
        images = client.get(
            "/v1/repositories/alice/secret/images", headers={**headers, **WANT_TOKEN}
        )
        assert images.status_code == 404
        assert "X-Docker-Endpoints" not in images.headers
        assert "X-Docker-Token" not in images.headers
    # An unseen repository took no turn either.
    assert sql(
        "SELECT count(*) FROM registry_turns t JOIN repositories r ON r.id = t.repository_id"
        " WHERE r.name = 'secret'"
    ) == [(0,)]
    seen = client.get(f"{API}/repositories/alice/secret/-/registries", headers=basic("alice"))
    assert [r["name"] for r in seen.get_json()["items"]] == ["east", REGISTRY, "south", "west"]


def test_the_rotation_hands_out_first_places_exactly_by_weight(client, uow, chain, claims_of):
    registries.update_registry(uow, REGISTRY, weight=3)
    registries.update_registry(uow, "west", weight=2)
    # east 1, registry.test 3, west 2, south 0: a period of 6 turns, any 6 in a row.
    for cycle in range(3):
        firsts = Counter(
            client.get(f"{API}/repositories/alice/z/-/registry").get_json()["name"]
            for _ in range(6)
        )
        assert firsts == {REGISTRY: 3, "west": 2, "east": 1}, cycle
    # Signed in with a role on it, alice is served by the mirrors too: the same rotation.
    images = Counter()
    for _ in range(6):
        response = client.get(
            "/v1/repositories/alice/z/images", headers=WANT_TOKEN | basic("alice")
        )
        first = _endpoints(response)[0]
        images[first] += 1
        audience = claims_of(response.headers["X-Docker-Token"]).audience
        assert audience == (REGISTRY if first == "registry.test:5000" else first)
        assert _endpoints(response)[-1] == "south"
    assert images == {"registry.test:5000": 3, "west": 2, "east": 1}
    # A mirror serves signed-in callers only: an anonymous caller is always handed the
    # holder first, whose token it can use.
    for _ in range(6):
        response = client.get("/v1/repositories/alice/z/images", headers=WANT_TOKEN)
        assert _endpoints(response)[0] == "registry.test:5000"
        assert claims_of(response.headers["X-Docker-Token"]).audience == REGISTRY
    listed = Counter(
        client.get(f"{API}/repositories/alice/z").get_json()["registries"][0]["name"]
        for _ in range(6)
    )
    assert listed == {REGISTRY: 3, "west": 2, "east": 1}


def test_a_single_candidate_takes_no_turn(client, uow, registry, make_repo, sql):
    make_repo("alice/solo", "public")
    for _ in range(3):
        chosen = client.get(f"{API}/repositories/alice/solo/-/registry").get_json()
        assert (chosen["name"], chosen["role"]) == (REGISTRY, "holder")
    assert sql("SELECT count(*) FROM registry_turns") == [(0,)]


def test_no_registry_is_a_clear_404(client, make_repo, users):
    make_repo("alice/none", "public")
    response = client.get(f"{API}/repositories/alice/none/-/registry")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "REGISTRY_UNKNOWN"


def test_upstream_and_weight_are_checked(client, uow, registry, users):
    carol = basic("carol")

    def add(**body):
        base = {
            "name": "m.test",
            "url": "https://m.test",
            "kind": "mirror",
            "namespaces": ["alice"],
        }
        return client.post(f"{API}/registries", json=base | body, headers=carol)

    # Malformed: 400; well-formed but refused by the records: 409.
    for body, field, status in (
        ({"upstream": "nowhere"}, "upstream", 409),
        ({"upstream": REGISTRY, "kind": "private"}, "upstream", 409),
        ({"weight": 101}, "weight", 400),
        ({"weight": -1}, "weight", 400),
        ({"weight": True}, "weight", 400),
        ({"weight": "2"}, "weight", 400),
    ):
        response = add(**body)
        assert response.status_code == status, body
        assert field in str(response.get_json()["error"]), body
    created = add(upstream=REGISTRY, weight=4)
    assert created.status_code == 201
    assert (created.json["registry"]["upstream"], created.json["registry"]["weight"]) == (
        REGISTRY,
        4,
    )
    # registry.test is not a mirror: it cannot take one; m.test cannot mirror itself.
    cycle = client.patch(f"{API}/registries/m.test", json={"upstream": "m.test"}, headers=carol)
    assert cycle.status_code == 409 and "cycle" in cycle.json["error"]["message"]
    _add(uow, "m2.test", "alice", kind="mirror", upstream="m.test")
    cycle = client.patch(f"{API}/registries/m.test", json={"upstream": "m2.test"}, headers=carol)
    assert cycle.status_code == 409 and "cycle" in cycle.json["error"]["message"]
    empty = client.patch(f"{API}/registries/m.test", json={}, headers=carol)
    assert empty.status_code == 400
    changed = client.patch(
        f"{API}/registries/m.test", json={"upstream": None, "weight": 0}, headers=carol
    )
    assert changed.status_code == 200
    assert (changed.json["upstream"], changed.json["weight"]) == (None, 0)
    assert registries.get_registry(uow, "m2.test").upstream == "m.test"
    # Removing an upstream ends the mirroring, not the mirror.
    registries.remove_registry(uow, "m.test")
    assert registries.get_registry(uow, "m2.test").upstream is None


def test_a_route_decides_where_pushes_go(client, uow, registry, make_repo, claims_of, users):
    _add(uow, "alpha", "alice")
    _add(uow, "beta", "alice", "bob")
    _add(uow, "bobs", "bob")
    _add(uow, "copy", "alice", kind="mirror", upstream="alpha")
    carol = basic("carol")
    # Without a route: the registries that declared alice, by name.
    pushed = client.put("/v1/repositories/alice/new/", headers=basic("alice"))
    assert _endpoints(pushed) == ["alpha", "beta"]
    route = client.put(
        f"{API}/namespaces/alice/route", json={"registries": ["beta", "alpha"]}, headers=carol
    )
    assert route.status_code == 200
    assert route.json == {"namespace": "alice", "registries": ["beta", "alpha"]}
    pushed = client.put("/v1/repositories/alice/new/", headers=basic("alice"))
    assert _endpoints(pushed) == ["beta", "alpha"]
    assert claims_of(pushed.headers["X-Docker-Token"]).audience == "beta"
    # Nothing pushed yet: pulls look where the push is expected (holders), plus mirrors.
    listed = client.get(f"{API}/repositories/alice/new/-/registries", headers=basic("alice"))
    assert [(r["name"], r["role"]) for r in listed.json["items"]] == [
        ("alpha", "holder"),
        ("beta", "holder"),
        ("copy", "mirror"),
    ]
    # Held elsewhere already: the push still goes where the route says.
    events.ingest(uow, registry[0], [push_event("alice/new", "1", manifest_bytes("n"))])
    pushed = client.put("/v1/repositories/alice/new/", headers=basic("alice"))
    assert _endpoints(pushed) == ["beta", "alpha"]
    shown = client.get(f"{API}/routes", headers=basic("bob")).json
    assert shown["items"] == [{"namespace": "alice", "registries": ["beta", "alpha"]}]
    assert client.get(f"{API}/routes").status_code == 401
    assert client.get(f"{API}/namespaces/bob/route", headers=basic("bob")).json == {
        "namespace": "bob",
        "registries": [],
    }
    assert client.delete(f"{API}/namespaces/alice/route", headers=carol).status_code == 204
    pushed = client.put("/v1/repositories/alice/new/", headers=basic("alice"))
    assert _endpoints(pushed) == ["registry.test:5000"]  # its holder again


def _push_token(client, service, name, user="alice", **params):
    query = {"service": service, "scope": f"repository:{name}:pull,push", **params}
    return client.get("/v2/token", query_string=query, headers=basic(user))


@pytest.mark.parametrize("offline", [False, True])  # True: the path with a transaction
def test_a_push_token_outside_the_route_is_refused_saying_where_pushes_go(
    client, uow, registry, claims_of, users, offline
):
    _add(uow, "alpha", "alice", "bob", kind="sponsor")
    _add(uow, "beta", "alice", "bob", kind="sponsor")
    params = {"offline_token": "true"} if offline else {}
    # No route: the old behaviour, a push anywhere serving the namespace.
    granted = _push_token(client, "beta", "alice/early", **params)
    assert granted.status_code == 200
    assert access_of(claims_of(granted.json["token"])) == {
        "repository:alice/early": {"pull", "push"}
    }
    routes.set_route(uow, "alice", ["alpha"])
    for attempt in ("first", "remembered"):  # a fresh login, then the credential cache
        refused = _push_token(client, "beta", "alice/app", **params)
        assert refused.status_code == 401, attempt
        error = refused.json["error"]
        assert error["code"] == "DENIED"
        assert error["message"] == "alice/app: pushes of alice go to alpha, not beta"
        challenge = refused.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert f'error_description="{error["message"]}"' in challenge
        with uow:
            assert uow.repositories.find("alice/app") is None  # nothing allocated
        # held there already (pushed before the route): still refused
        assert _push_token(client, "beta", "alice/early", **params).status_code == 401
    pushed = _push_token(client, "alpha", "alice/app", **params)
    assert pushed.status_code == 200
    assert access_of(claims_of(pushed.json["token"])) == {"repository:alice/app": {"pull", "push"}}
    # Pulls (and deletes of what it holds) at another registry serving alice stay allowed.
    for scope, actions in (
        ("repository:alice/app:pull", {"pull"}),
        ("repository:alice/early:pull,delete", {"pull", "delete"}),
    ):
        query = {"service": "beta", "scope": scope, **params}
        answer = client.get("/v2/token", query_string=query, headers=basic("alice"))
        assert answer.status_code == 200, scope
        assert access_of(claims_of(answer.json["token"])) == {scope.rsplit(":", 1)[0]: actions}
    # Another namespace without a route: unchanged.
    assert _push_token(client, "beta", "bob/app", user="bob", **params).status_code == 200
    routes.set_route(uow, "alice", ["alpha", "beta"])
    assert _push_token(client, "beta", "alice/app", **params).status_code == 200
    routes.set_route(uow, "alice", [])
    assert _push_token(client, "beta", "alice/other", **params).status_code == 200


def test_an_anonymous_push_outside_a_route_learns_nothing_of_the_route(
    client, uow, registry, claims_of, make_repo, users
):
    """Routes are shown to signed-in users only: an anonymous push request gets what it
    always got (a token granting the pull of a public repository), no route named."""
    make_repo("alice/open", "public")
    _add(uow, "alpha", "alice", kind="sponsor")
    _add(uow, "beta", "alice", kind="sponsor")
    routes.set_route(uow, "alice", ["alpha"])
    query = {"service": "beta", "scope": "repository:alice/open:pull,push"}
    answer = client.get("/v2/token", query_string=query)
    assert answer.status_code == 200
    assert access_of(claims_of(answer.json["token"])) == {"repository:alice/open": {"pull"}}


def test_a_route_names_only_registries_serving_the_namespace(client, uow, registry, users):
    _add(uow, "bobs", "bob")
    _add(uow, "copy", "alice", kind="mirror", upstream=REGISTRY)
    carol = basic("carol")
    for names, words, status in (
        (["bobs"], "does not serve alice", 409),
        (["copy"], "mirror takes no pushes", 409),
        (["nowhere"], "no registry named nowhere", 409),
        ([f"r{n}" for n in range(17)], "registries", 400),
    ):
        response = client.put(
            f"{API}/namespaces/alice/route", json={"registries": names}, headers=carol
        )
        assert response.status_code == status, names
        assert words in str(response.json["error"]), response.json
    twice = client.put(
        f"{API}/namespaces/alice/route", json={"registries": [REGISTRY, REGISTRY]}, headers=carol
    )
    assert twice.json["registries"] == [REGISTRY]  # named once, where first named
    client.delete(f"{API}/namespaces/alice/route", headers=carol)
    bad = client.put(f"{API}/namespaces/Not_A/route", json={"registries": []}, headers=carol)
    assert bad.status_code == 400
    assert client.get(f"{API}/routes", headers=carol).json["items"] == []
    # A routed registry cannot become a mirror.
    routes.set_route(uow, "alice", [REGISTRY])
    _add(uow, "m.test", "alice", kind="mirror")
    routes.set_route(uow, "alice", ["m.test"])
    refused = client.patch(f"{API}/registries/m.test", json={"upstream": REGISTRY}, headers=carol)
    assert refused.status_code == 409 and "route" in refused.json["error"]["message"]
