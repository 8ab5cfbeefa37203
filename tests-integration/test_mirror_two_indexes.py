"""A Wharf mirror in token mode in front of a Wharf registry in token mode, an Index each.

Index 1 (its own database, on ``index``) knows alice and the registry ``origin`` (kind
``sponsor``, on ``registry``), which holds the organisation acme's public and private
images pushed by alice with skopeo, and acme's robot ``acme+mirror`` (pull on ``acme/*``).
Index 2 (another database; beside Index 1 on ``index``, at the next port) knows sysop, bob
and carol, an organisation acme of its own (sysop the owner, carol in its read team, bob no
member) and the registry ``mirror`` (on ``registry2``), registered as a ``mirror`` serving
``acme`` with no upstream: Index 2 knows no ``origin``. ``mirror`` verifies tokens at
Index 2 and pulls through from ``origin`` (``REGISTRY_PROXY_REMOTEURL``) signed in at
Index 1 as the robot.

Through ``mirror``, with skopeo on ``client``: carol pulls both images with every layer's
bytes equal (Index 2 has no such repositories: her namespace-wide read role grants the
pulls, and the mirror's catalog lists her what it cached); an anonymous caller is refused
with Index 2's reason, bob (signed in, no role in acme: the public image too) with the
registry's; alice (a user of Index 1 only) and the robot (a credential of Index 1) cannot
sign in; with ``origin`` stopped carol still pulls both from the mirror's cache; the
robot's secret is in no log of either stack.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from mirroring import (
    ORG,
    assert_refused,
    create_org,
    create_robot,
    proxy_env,
    pull_and_check,
    push_images,
)
from oci_client import Image
from stack import INDEX_PORT, PASSWORDS, Stack


@pytest.fixture(scope="module")
def index1(make_stack) -> Iterator[Stack]:
    """Index 1 and ``origin``."""
    stack = make_stack().bootstrap(users=("sysop", "alice"))
    stack.add_registry("origin", "registry", [ORG], kind="sponsor")
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def index2(make_stack) -> Iterator[Stack]:
    """Index 2, beside Index 1 on the index host (not yet any registry)."""
    stack = make_stack(index_port=INDEX_PORT + 1).bootstrap(users=("sysop", "bob", "carol"))
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def mirrored(index1: Stack, index2: Stack) -> tuple[dict[str, tuple[Image, str]], dict]:
    """acme's images pushed to ``origin`` by alice, and ``mirror`` started at Index 2 with
    the credentials of the robot of Index 1: ``(name -> (image, layout), robot)``."""
    create_org(index1, "alice")
    robot = create_robot(index1, "alice")
    pushed = push_images(index1, "origin", "alice")
    create_org(index2, "sysop", readers=("carol",))
    index2.add_registry(
        "mirror",
        "registry2",
        [ORG],
        kind="mirror",
        env=proxy_env(index1.registries["origin"].url, robot),
    )
    return pushed, robot


def test_a_mirror_of_another_index_serves_its_own_members_and_from_its_cache(
    index1, index2, mirrored
):
    pushed, robot = mirrored
    mirror = index2.registries["mirror"].address
    carol = index2.login("carol", "mirror")
    for name, (image, _) in pushed.items():
        dest = os.path.join(index2.workdir, f"pulled-{name.replace('/', '-')}")
        pull_and_check(carol, mirror, name, image, dest)

    # The mirror's catalog (what it cached) is filtered by Index 2 as its tokens are.
    assert sorted(index2.client("mirror", "carol").catalog_names()) == sorted(pushed)
    assert index2.client("mirror", "bob").catalog_names() == []

    anonymous = index2.skopeo("mirror-anonymous")
    assert_refused(anonymous, index2.login("bob", "mirror"), mirror, "mirror", list(pushed))

    strangers = {"alice": PASSWORDS["alice"], robot["robot"]["username"]: robot["secret"]}
    for username, password in strangers.items():  # Index 1's credentials mean nothing here
        refused = index2.skopeo(f"stranger-{username}").login(
            mirror, username, password, check=False
        )
        assert refused.returncode != 0, username
        assert "invalid username/password" in refused.stderr, refused.stderr

    index1.registries["origin"].service.stop()
    for name, (image, _) in pushed.items():
        dest = os.path.join(index2.workdir, f"cached-{name.replace('/', '-')}")
        pull_and_check(carol, mirror, name, image, dest)
    for service in [*index1.services(), *index2.services()]:  # the robot's secret: no log
        assert robot["secret"] not in service.log(), service.name
