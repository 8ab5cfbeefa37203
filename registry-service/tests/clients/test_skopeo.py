"""skopeo, a real client, pushes and pulls OCI images through a Wharf registry under gunicorn.

Each round trip checks what a user relies on: the manifest bytes served are the bytes
pushed (same digest), tags are listed, every blob comes back bit for bit, deletes work,
and, with htpasswd, anonymous clients are refused.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import skopeo
from oci_layout import (
    Image,
    MultiArch,
    layout_root,
    multi_arch_index,
    multi_layer_image,
    read_layout,
    write_layout,
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def assert_same_image(top: Image | MultiArch, pulled_dir, tag: str) -> None:
    """The pulled layout holds exactly the pushed blobs and the same root digest."""
    root = top.manifest if isinstance(top, Image) else top.index
    assert layout_root(pulled_dir, tag)["digest"] == root.digest
    pulled = read_layout(pulled_dir)
    assert set(pulled) == {blob.digest for blob in top.blobs()}
    for blob in top.blobs():
        assert pulled[blob.digest] == blob.data


def test_multi_layer_image_round_trip(registry, tmp_path):
    reg = registry()
    image = multi_layer_image(seed=11, count=4)
    assert len(image.layers) == 4
    source = write_layout(tmp_path / "src", image, "v1")

    skopeo.push(source, "v1", f"{reg.host}/ns/app:v1")

    raw = skopeo.inspect_raw(f"{reg.host}/ns/app:v1")
    assert raw == image.manifest.data
    assert skopeo.inspect_raw(f"{reg.host}/ns/app@{image.manifest.digest}") == raw
    assert skopeo.list_tags(f"{reg.host}/ns/app") == ["v1"]

    skopeo.pull(f"{reg.host}/ns/app:v1", tmp_path / "back", "v1")
    assert_same_image(image, tmp_path / "back", "v1")


def test_second_tag_and_delete(registry, tmp_path):
    reg = registry()
    image = multi_layer_image(seed=12, count=3)
    source = write_layout(tmp_path / "src", image, "v1")
    skopeo.push(source, "v1", f"{reg.host}/ns/app:v1")
    skopeo.push(source, "v1", f"{reg.host}/ns/app:latest")
    assert sorted(skopeo.list_tags(f"{reg.host}/ns/app")) == ["latest", "v1"]

    other = write_layout(tmp_path / "other", multi_layer_image(seed=13, count=3), "v2")
    skopeo.push(other, "v2", f"{reg.host}/ns/app:v2")
    skopeo.delete(f"{reg.host}/ns/app:v1")

    # skopeo deletes the manifest by digest: both tags naming it go, v2 stays.
    assert skopeo.list_tags(f"{reg.host}/ns/app") == ["v2"]
    missing = skopeo.run(
        "inspect",
        "--raw",
        "--tls-verify=false",
        f"docker://{reg.host}/ns/app@{image.manifest.digest}",
        check=False,
    )
    assert missing.returncode != 0
    assert "manifest unknown" in missing.stderr.lower()


def test_multi_arch_index_round_trip(registry, tmp_path):
    reg = registry()
    top = multi_arch_index(seed=21)
    amd64, arm64 = top.images
    assert amd64.layers[0] == arm64.layers[0]  # the shared base layer
    source = write_layout(tmp_path / "src", top, "multi")

    skopeo.push(source, "multi", f"{reg.host}/ns/multi:1.0", all_images=True)

    raw = skopeo.inspect_raw(f"{reg.host}/ns/multi:1.0")
    assert raw == top.index.data
    assert sha256(raw) == top.index.digest
    for image in top.images:
        child = skopeo.inspect_raw(f"{reg.host}/ns/multi@{image.manifest.digest}")
        assert child == image.manifest.data
    platforms = [m["platform"]["architecture"] for m in json.loads(raw)["manifests"]]
    assert platforms == ["amd64", "arm64"]

    skopeo.pull(f"{reg.host}/ns/multi:1.0", tmp_path / "back", "multi", all_images=True)
    assert_same_image(top, tmp_path / "back", "multi")


def test_htpasswd_push_pull_and_refusals(registry, tmp_path):
    reg = registry(auth="htpasswd")
    image = multi_layer_image(seed=31, count=3)
    source = write_layout(tmp_path / "src", image, "v1")

    anonymous = skopeo.push(source, "v1", f"{reg.host}/team/app:v1", check=False)
    assert anonymous.returncode != 0
    assert "unauthorized" in anonymous.stderr.lower() or "401" in anonymous.stderr
    wrong = skopeo.push(source, "v1", f"{reg.host}/team/app:v1", creds="alice:nope", check=False)
    assert wrong.returncode != 0

    skopeo.push(source, "v1", f"{reg.host}/team/app:v1", creds=reg.creds)
    assert skopeo.list_tags(f"{reg.host}/team/app", creds=reg.creds) == ["v1"]
    assert skopeo.inspect_raw(f"{reg.host}/team/app:v1", creds=reg.creds) == image.manifest.data
    refused = skopeo.run(
        "list-tags", "--tls-verify=false", f"docker://{reg.host}/team/app", check=False
    )
    assert refused.returncode != 0

    skopeo.pull(f"{reg.host}/team/app:v1", tmp_path / "back", "v1", creds=reg.creds)
    assert_same_image(image, tmp_path / "back", "v1")


@pytest.mark.s3
def test_multi_layer_image_round_trip_on_s3(registry, tmp_path):
    reg = registry(storage="s3")
    image = multi_layer_image(seed=41, count=5, size=256 * 1024)
    source = write_layout(tmp_path / "src", image, "v1")

    skopeo.push(source, "v1", f"{reg.host}/ns/s3app:v1")
    assert skopeo.inspect_raw(f"{reg.host}/ns/s3app:v1") == image.manifest.data
    assert skopeo.list_tags(f"{reg.host}/ns/s3app") == ["v1"]

    skopeo.pull(f"{reg.host}/ns/s3app:v1", tmp_path / "back", "v1")
    assert_same_image(image, tmp_path / "back", "v1")
    assert reg.stored_objects(), "the registry wrote nothing to its bucket"
