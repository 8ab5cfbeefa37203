"""A Wharf mirror in token mode in front of a Wharf registry in token mode, one Index.

``origin`` (kind ``sponsor``, on ``registry``) holds the organisation acme's public and
private repositories, pushed by alice (an owner) with skopeo. ``mirror1`` (on
``registry2``) is registered at the same Index as a ``mirror`` of ``origin``
(``--upstream origin``) serving the namespace ``acme``; it pulls through
(``REGISTRY_PROXY_REMOTEURL`` at ``origin``) signed in as the organisation's robot
``acme+mirror``, whose token may only pull ``acme/*``. Through ``mirror1``, with skopeo on
``client``: carol (of acme's read team) pulls both images with every layer's bytes equal;
an anonymous caller and bob (signed in, no role in acme: the public image too) are refused
with the reasons skopeo prints (the Index's for the anonymous one, the registry's
"insufficient scope" for bob); the private image reaching the mirror shows it signed in
upstream; alice's push is refused with the reason; with
``origin`` stopped carol still pulls both images from the mirror's cache.
"""

from __future__ import annotations

import os

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
from stack import Stack


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack().bootstrap(users=("sysop", "alice", "bob", "carol"))
    stack.add_registry("origin", "registry", [ORG], kind="sponsor")
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def mirrored(stack: Stack) -> dict[str, tuple[Image, str]]:
    """acme's repositories pushed to ``origin`` by alice (``name -> (image, layout)``), carol
    in acme's read team, and ``mirror1`` started with the robot's credentials."""
    create_org(stack, "alice", readers=("carol",))
    robot = create_robot(stack, "alice")
    pushed = push_images(stack, "origin", "alice")
    stack.add_registry(
        "mirror1",
        "registry2",
        [ORG],
        kind="mirror",
        upstream="origin",
        env=proxy_env(stack.registries["origin"].url, robot),
    )
    return pushed


def test_a_token_mode_mirror_serves_members_only_and_from_its_cache(stack, mirrored):
    mirror = stack.registries["mirror1"].address
    carol = stack.login("carol", "mirror1")
    for name, (image, _) in mirrored.items():
        dest = os.path.join(stack.workdir, f"pulled-{name.replace('/', '-')}")
        pull_and_check(carol, mirror, name, image, dest)

    anonymous = stack.skopeo("mirror-anonymous")
    assert_refused(anonymous, stack.login("bob", "mirror1"), mirror, "mirror1", list(mirrored))

    _, layout = mirrored["acme/public"]
    alice = stack.login("alice", "mirror1")
    refused = alice.copy(layout, f"docker://{mirror}/acme/public:2")
    assert refused.returncode != 0
    assert "mirror1 is a mirror: it is read-only (pull only)" in refused.stderr, refused.stderr

    stack.registries["origin"].service.stop()
    for name, (image, _) in mirrored.items():
        dest = os.path.join(stack.workdir, f"cached-{name.replace('/', '-')}")
        pull_and_check(carol, mirror, name, image, dest)
    secret = stack.registries["mirror1"].service.env["REGISTRY_PROXY_PASSWORD"]
    for service in stack.services():  # the robot's token is in no log
        assert secret not in service.log(), service.name
