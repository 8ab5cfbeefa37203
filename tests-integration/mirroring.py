"""What the token-mode mirror tests share: the organisation acme at an Index, its robot, its
public and private images pushed with skopeo, a mirror's upstream settings, and a pull
checked byte for byte.

Used by test_mirror_token_mode.py (one Index) and test_mirror_two_indexes.py (an Index
each for the upstream and the mirror).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from oci_client import Image
from skopeo import Skopeo
from stack import Stack

ORG = "acme"
REPOSITORIES = {"acme/public": "public", "acme/private": "private"}
ROBOT = "mirror"


def ok(response, status: int = 200) -> dict:
    """The JSON body of ``response`` (``{}`` when empty), which must have ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else {}


def create_org(stack: Stack, owner: str, readers: Sequence[str] = ()) -> None:
    """:data:`ORG` created at ``stack``'s Index by ``owner``, with ``readers`` in its team
    ``readers`` (role read on every repository)."""
    ok(stack.api("POST", "/api/v1/orgs", owner, json={"name": ORG}), 201)
    if not readers:
        return
    team = {"name": "readers", "role": "read", "all_repositories": True}
    ok(stack.api("POST", f"/api/v1/orgs/{ORG}/teams", owner, json=team), 201)
    for reader in readers:
        path = f"/api/v1/orgs/{ORG}/teams/readers/members/{reader}"
        ok(stack.api("PUT", path, owner), 204)


def create_robot(stack: Stack, owner: str) -> dict:
    """The robot ``acme+mirror`` (pull on ``acme/*``) made by ``owner``: the Index's answer,
    ``robot.username`` and the ``secret`` (shown once)."""
    body = {"name": ROBOT, "scopes": [{"repository": f"{ORG}/*", "actions": ["pull"]}]}
    return ok(stack.api("POST", f"/api/v1/namespaces/{ORG}/robots", owner, json=body), 201)


def push_images(stack: Stack, registry: str, owner: str) -> dict[str, tuple[Image, str]]:
    """:data:`REPOSITORIES` created at the Index with their visibility and a new image of
    each pushed by ``owner`` to ``registry`` as ``:1`` with skopeo (``name -> (image,
    layout)``)."""
    client = stack.login(owner, registry)
    address = stack.registries[registry].address
    pushed = {}
    for name, visibility in REPOSITORIES.items():
        body = {"name": name, "visibility": visibility}
        ok(stack.api("POST", "/api/v1/repositories", owner, json=body), 201)
        image = Image.random(layers=2, size=64 << 10, label=name.replace("/", "-"))
        layout = image.write_layout(os.path.join(stack.workdir, f"layout-{visibility}"), "1")
        client.copy(layout, f"docker://{address}/{name}:1", check=True)
        pushed[name] = (image, layout)
    return pushed


def proxy_env(upstream_url: str, robot: dict) -> dict[str, str]:
    """A registry's settings to mirror ``upstream_url`` signed in as ``robot``."""
    return {
        "REGISTRY_PROXY_REMOTEURL": upstream_url,
        "REGISTRY_PROXY_USERNAME": robot["robot"]["username"],
        "REGISTRY_PROXY_PASSWORD": robot["secret"],
    }


def pull_and_check(skopeo: Skopeo, address: str, name: str, image: Image, dest: str) -> None:
    """``skopeo copy`` of ``address/name:1`` to the OCI layout ``dest``: the manifest is
    ``image``'s and every layer's bytes are equal."""
    skopeo.copy(f"docker://{address}/{name}:1", f"oci:{dest}:1", check=True)
    for digest, data in zip(image.layer_digests, image.layers, strict=True):
        with open(os.path.join(dest, "blobs", "sha256", digest.split(":")[1]), "rb") as fh:
            assert fh.read() == data, f"{name}: layer {digest} differs"
    with open(os.path.join(dest, "index.json"), encoding="utf-8") as fh:
        assert image.digest in fh.read()


def assert_refused(
    anonymous: Skopeo, outsider: Skopeo, address: str, registry: str, names: Sequence[str]
) -> None:
    """At the mirror ``registry`` (``address``), each of ``names`` is refused to an anonymous
    caller with the Index's reason and to a signed-in ``outsider`` (no role in acme: public
    image or not) with the registry's "insufficient scope"."""
    for name in names:
        refused = anonymous.inspect(f"{address}/{name}:1")
        assert refused.returncode != 0
        reason = f"{registry} is a mirror registry: sign in to pull {name}"
        assert reason in refused.stderr, refused.stderr
        refused = outsider.inspect(f"{address}/{name}:1")
        assert refused.returncode != 0
        assert f"repository:{name}:pull is not granted" in refused.stderr, refused.stderr
