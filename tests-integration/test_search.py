"""Search and one-part names with real clients: ``podman search`` (and ``docker search``)
against both the Index's host and a registry's host, anonymous and signed in, with a public
and a private repository (the private one only for its owner); ``HOST/app`` is
``library/app``: an administrator pushes it with skopeo and it is pulled under both names;
anyone else is told who may push there.

podman sends ``/v1/search`` no credentials; both hosts answer it 401, so podman lists
``/v2/_catalog`` instead with its credentials (the Index's own catalog, or the registry's,
filtered by the Index). Docker sends credentials to ``/v1/search``: the Index's host answers
it, a registry's host asks its Index. A registry no token was ever used on is searched too:
the search itself tells the Index that the registry filters its catalog.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from oci_client import Image
from podman import Podman
from stack import PASSWORDS, Stack

OPEN, HIDDEN = "alice/srch-open", "alice/srch-hidden"


@pytest.fixture(scope="module")
def stack(make_stack) -> Iterator[Stack]:
    stack = make_stack().bootstrap()
    stack.add_registry("reg1", "registry", ["alice", "bob", "library"])
    alice = stack.login("alice")
    for name, visibility in ((OPEN, "public"), (HIDDEN, "private")):
        created = stack.api(
            "POST", "/api/v1/repositories", "alice", json={"name": name, "visibility": visibility}
        )
        assert created.status_code == 201, created.text
        layout = Image.random(layers=1, label=name).write_layout(
            os.path.join(stack.workdir, f"layout-{name.replace('/', '-')}"), "1"
        )
        alice.copy(layout, f"docker://{stack.registries['reg1'].address}/{name}:1", check=True)
    yield stack
    stack.close()  # its hosts' ports are the next module's


def _podman(stack, label: str) -> Podman:
    return Podman(stack.network["client"], tempfile.mkdtemp(prefix=label, dir=stack.workdir))


def _hosts(stack) -> dict[str, str]:
    return {
        "index": f"{stack.index.host}:{stack.index.port}",
        "registry": stack.registries["reg1"].address,
    }


@pytest.mark.parametrize("where", ["index", "registry"])
def test_podman_search_shows_private_repositories_only_to_their_owner(stack, where):
    host = _hosts(stack)[where]
    anonymous = _podman(stack, f"p-anon-{where}")
    assert anonymous.search(f"{host}/srch") == [OPEN]
    alice = _podman(stack, f"p-alice-{where}")
    alice.login(host, "alice", PASSWORDS["alice"])
    assert alice.search(f"{host}/srch") == [HIDDEN, OPEN]
    bob = _podman(stack, f"p-bob-{where}")
    bob.login(host, "bob", PASSWORDS["bob"])
    assert bob.search(f"{host}/srch") == [OPEN]


def test_docker_search_at_the_registry_host_asks_the_index(stack, make_docker):
    registry = _hosts(stack)["registry"]
    assert make_docker("s-anonymous").search(f"{registry}/srch") == [OPEN]
    alice = make_docker("s-alice").login_with_identity_token(registry, "alice", PASSWORDS["alice"])
    assert sorted(alice.search(f"{registry}/srch")) == [HIDDEN, OPEN]
    bob = make_docker("s-bob").login_with_identity_token(registry, "bob", PASSWORDS["bob"])
    assert bob.search(f"{registry}/srch") == [OPEN]


def test_one_part_names_are_the_library_organisations(stack):
    registry = stack.registries["reg1"].address
    image = Image.random(layers=1, label="library-app")
    layout = image.write_layout(os.path.join(stack.workdir, "layout-library-app"), "1")

    admin = stack.login("sysop")  # an administrator: may push to library
    admin.copy(layout, f"docker://{registry}/app:1", check=True)
    anonymous = stack.skopeo("library-reader")
    for name in ("app", "library/app"):
        inspected = anonymous.inspect(f"{registry}/{name}:1", check=True)
        assert '"Digest": "' + image.digest + '"' in inspected.stdout
    assert anonymous.list_tags(f"{registry}/app", check=True).stdout.count('"1"') == 1
    catalog = stack.client("reg1", "sysop")
    catalog.authorize("registry:catalog:*")
    assert "library/app" in catalog.catalog_names() and "app" not in catalog.catalog_names()

    alice = stack.login("alice")  # not a member of library
    refused = alice.copy(layout, f"docker://{registry}/other:1")
    assert refused.returncode != 0
    assert "only members of the library organisation may push here" in refused.stderr, (
        refused.stderr
    )


def test_podman_search_at_a_registry_no_token_was_used_on(stack):
    """Until a registry calls the Index (token verification, the catalog question) the
    Index cannot tell it from the reference registry, which lists every name: no catalog
    grant for non-administrators there. podman's first catalog request carries a token
    without the grant, which the registry verifies with the Index (that tells it) before
    answering 401 naming the scope; podman then asks for the scope, granted now."""
    stack.add_registry("reg2", "registry2", ["carol"])
    fresh = stack.registries["reg2"].address

    def catalog_word():
        listed = stack.cli("registry", "list").stdout.splitlines()
        return next(line for line in listed if line.startswith("reg2\t")).split("\t")[4]

    assert catalog_word() == "auto:unfiltered"
    assert _podman(stack, "p-anon-fresh").search(f"{fresh}/srch") == []  # exits 0
    assert catalog_word() == "auto:filtered"
