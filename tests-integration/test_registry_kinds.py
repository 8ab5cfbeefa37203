"""Registry kinds with a real client (the Index README's "Registry kinds").

``reg1`` is a private registry serving alice: her public image there is refused to an
anonymous skopeo, which prints the Index's reason, and served to any signed-in user.
``mirror1`` is a mirror serving alice: even she cannot push there, and skopeo says why.
"""

from __future__ import annotations

import json
import os

import pytest
from oci_client import Image

NAME = "alice/open"


@pytest.fixture(scope="module")
def stack(make_stack):
    stack = make_stack().bootstrap()
    stack.add_registry("reg1", "registry", ["alice"], kind="private")
    stack.add_registry("mirror1", "registry2", ["alice"], kind="mirror")
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def pushed(stack):
    """alice/open:1, public, pushed by alice to the private registry."""
    created = stack.api(
        "POST", "/api/v1/repositories", "alice", json={"name": NAME, "visibility": "public"}
    )
    assert created.status_code == 201, created.text
    image = Image.random(layers=1, label="kinds")
    layout = image.write_layout(os.path.join(stack.workdir, "kinds-layout"), "1")
    registry = stack.registries["reg1"].address
    stack.login("alice").copy(layout, f"docker://{registry}/{NAME}:1", check=True)
    return image, layout


def test_a_private_registry_refuses_anonymous_pulls_with_the_reason(stack, pushed):
    image, _ = pushed
    reference = f"{stack.registries['reg1'].address}/{NAME}:1"
    refused = stack.skopeo("kinds-anonymous").inspect(reference)
    assert refused.returncode != 0
    assert f"reg1 is a private registry: sign in to pull {NAME}" in refused.stderr, refused.stderr
    for user in ("alice", "bob"):  # the owner, and any signed-in user for a public image
        inspected = stack.login(user).inspect(reference, check=True)
        assert json.loads(inspected.stdout)["Digest"] == image.digest


def test_a_mirror_refuses_pushes_with_the_reason(stack, pushed):
    _, layout = pushed
    alice = stack.login("alice", "mirror1")
    refused = alice.copy(layout, f"docker://{stack.registries['mirror1'].address}/{NAME}:2")
    assert refused.returncode != 0
    assert "mirror1 is a mirror: it is read-only (pull only)" in refused.stderr, refused.stderr
