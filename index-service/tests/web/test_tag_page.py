"""The tag page (/r/<name>/-/tags/<tag>) in a real browser: a single-platform image and a
multi-platform index served by the registry double (tests/registry_double.py), their
layers, config, raw manifest and referrers, a registry that cannot be reached, and
privacy."""

from __future__ import annotations

import json
import re

import pytest
import responses
from wharf_index.context import EXTENSION
from wharf_index.domain.model import SYSTEM
from wharf_index.services import events, registries
from wharf_protocol import mediatypes
from wharf_protocol.events import Actor, Descriptor, Platform, Target, new_event

from tests.conftest import PASSWORD
from tests.registry_double import FakeRegistry, digest_of, make_agent, verifier_for

REGISTRY, REGISTRY_URL = "registry.test", "http://registry.test:5000"
SIG_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM_TYPE = "application/spdx+json"
EMPTY_CONFIG = b"{}"
EMPTY = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:" + "4" * 64,
    "size": 2,
}


def _config(architecture: str, *, variant: str = "", label: str = "") -> bytes:
    """An image config as ``docker build`` writes it (OCI image-spec config.md)."""
    document = {
        "created": "2026-11-30T10:00:00Z",
        "architecture": architecture,
        "os": "linux",
        "config": {
            "User": "app",
            "ExposedPorts": {"8080/tcp": {}, "9090/tcp": {}},
            "Env": ["PATH=/usr/local/bin:/usr/bin", f"ARCH={architecture}"],
            "Entrypoint": ["/usr/local/bin/server"],
            "Cmd": ["--port", "8080"],
            "WorkingDir": "/srv/app",
            "Labels": {"org.opencontainers.image.title": label or "web"},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "e" * 64]},
        "history": [{"created": "2026-11-30T10:00:00Z", "created_by": "COPY . /srv/app"}],
    }
    if variant:
        document["variant"] = variant
    return json.dumps(document).encode()


def _manifest(config: bytes, layers: list[tuple[str, int]], annotation: str = "") -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {
            "mediaType": mediatypes.OCI_CONFIG,
            "digest": digest_of(config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": mediatypes.OCI_LAYER_GZIP, "digest": "sha256:" + c * 64, "size": size}
            for c, size in layers
        ],
    }
    if annotation:
        document["annotations"] = {"org.opencontainers.image.description": annotation}
    return json.dumps(document, separators=(",", ":")).encode()


def _index(entries: list[tuple[bytes, dict]]) -> bytes:
    """An OCI index of ``(child manifest, platform)`` entries."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": mediatypes.OCI_MANIFEST,
                    "digest": digest_of(child),
                    "size": len(child),
                    "platform": platform,
                }
                for child, platform in entries
            ],
        }
    ).encode()


def _referrer(subject: bytes, artifact_type: str, payload_size: int) -> bytes:
    """A signature or SBOM manifest whose ``subject`` is ``subject`` (image-spec 1.1)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": EMPTY,
            "layers": [
                {"mediaType": artifact_type, "digest": "sha256:" + "5" * 64, "size": payload_size}
            ],
            "subject": {
                "mediaType": mediatypes.OCI_MANIFEST,
                "digest": digest_of(subject),
                "size": len(subject),
            },
        }
    ).encode()


def _push_event(repository: str, tag: str, body: bytes):
    """The registry's push event for a manifest or an index (references: the config and
    layers, or the index's manifests with their platforms)."""
    document = json.loads(body)
    items = document.get("manifests") or [document["config"], *document["layers"]]
    references = tuple(
        Descriptor(
            d["mediaType"],
            d["digest"],
            d["size"],
            Platform(**d["platform"]) if "platform" in d else None,
        )
        for d in items
    )
    target = Target(
        document["mediaType"],
        digest_of(body),
        len(body),
        repository,
        tag=tag,
        length=len(body),
        references=references,
    )
    return new_event("push", target, actor=Actor("alice"))


@pytest.fixture
def registry(uow):
    return registries.add_registry(uow, REGISTRY, REGISTRY_URL, "private", actor=SYSTEM)


@pytest.fixture
def fake(app, settings, database, registry):
    app.extensions[EXTENSION].agent = make_agent(settings, database)  # retries without sleeping
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeRegistry(mock, REGISTRY_URL, verifier_for(settings, database), REGISTRY)


@pytest.fixture
def push(uow, registry, fake):
    """push(name, tag, manifest, blobs=[...]) at the registry and, by its event, the Index."""

    def run(name: str, tag: str, body: bytes, *, blobs=()):
        for blob in blobs:
            fake.push_blob(name, blob)
        fake.push(name, tag, body)
        events.ingest(uow, registry[0], [_push_event(name, tag, body)])
        return digest_of(body)

    return run


@pytest.fixture
def web_image(make_repo, push, fake):
    """alice/web:1.0 (public): two layers, a config, a signature and an SBOM."""
    make_repo("alice/web", visibility="public")
    config = _config("amd64", label="<script>alert(1)</script>")
    body = _manifest(config, [("a", 3 * 1024 * 1024), ("b", 512 * 1024)], "<b>bold</b> & co")
    push("alice/web", "1.0", body, blobs=[config])
    fake.push_manifest("alice/web", _referrer(body, SIG_TYPE, 321))
    fake.push_manifest("alice/web", _referrer(body, SBOM_TYPE, 4096))
    return body


def _path(name: str, tag: str) -> str:
    return f"/r/{name}/-/tags/{tag}"


def _table_rows(page, caption: str) -> list[list[str]]:
    table = page.locator("table", has=page.locator("caption", has_text=caption))
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]


def _facts(page, section: str) -> dict[str, str]:
    """The <dt>/<dd> pairs of the section headed ``section``."""
    region = page.get_by_role("region", name=section)
    terms = region.locator("dl dt").all_inner_texts()
    values = region.locator("dl dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def test_single_platform_image_shows_layers_config_manifest_and_referrers(
    visits, page, fake, web_image
):
    response = visits.go(_path("alice/web", "1.0"))

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "alice/web:1.0"
    assert page.get_by_text(f"{digest_of(web_image)}").first.is_visible()
    assert _table_rows(page, "Layers") == [
        ["1", "sha256:" + "a" * 64, mediatypes.OCI_LAYER_GZIP, "3.0 MiB"],
        ["2", "sha256:" + "b" * 64, mediatypes.OCI_LAYER_GZIP, "512.0 KiB"],
    ]
    assert page.locator("#total-size").inner_text() == "3.5 MiB"
    facts = _facts(page, "Configuration")
    assert facts["Platform"] == "linux/amd64"
    assert facts["Created"] == "2026-11-30T10:00:00Z"
    assert facts["Entrypoint"] == "/usr/local/bin/server"
    assert facts["Command"] == "--port 8080"
    assert facts["Working directory"] == "/srv/app"
    assert facts["User"] == "app"
    assert facts["Exposed ports"] == "8080/tcp, 9090/tcp"
    env = page.get_by_role("list", name="Environment variables").locator("li")
    assert env.all_inner_texts() == ["PATH=/usr/local/bin:/usr/bin", "ARCH=amd64"]
    # a label is text, never markup
    assert _table_rows(page, "Labels") == [
        ["org.opencontainers.image.title", "<script>alert(1)</script>"]
    ]
    referrers = sorted(_table_rows(page, "Signatures, SBOMs"))
    assert [row[0] for row in referrers] == [SBOM_TYPE, SIG_TYPE]
    assert all(row[1].startswith("sha256:") for row in referrers)
    raw = page.locator("pre#raw-manifest")
    assert json.loads(raw.inner_text()) == json.loads(web_image)
    assert '"<b>bold</b> & co"' in raw.inner_text()  # escaped: shown as text
    assert raw.locator("b").count() == 0
    assert page.get_by_role("button", name="Copy manifest").is_visible()
    assert page.get_by_role("status").count() == 0  # no registry notice

    page.emulate_media(color_scheme="dark")
    visits.check("dark")  # axe checks the contrast of the dark theme too
    page.set_viewport_size({"width": 360, "height": 800})
    visits.check("narrow")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_page_reads_the_registry_once_then_what_the_index_kept(
    visits, page, client, fake, web_image
):
    assert client.get(_path("alice/web", "1.0")).status_code == 200
    asked = [(method, path) for method, path, _ in fake.calls]
    assert ("GET", f"/v2/alice/web/manifests/{digest_of(web_image)}") in asked
    assert any(path.startswith("/v2/alice/web/blobs/") for _, path in asked)
    assert any(path.startswith("/v2/alice/web/referrers/") for _, path in asked)

    fake.down = True
    visits.go(_path("alice/web", "1.0"))

    assert len(fake.calls) == len(asked)  # nothing asked again
    assert page.get_by_role("status").count() == 0
    assert _facts(page, "Configuration")["Entrypoint"] == "/usr/local/bin/server"
    assert len(_table_rows(page, "Signatures, SBOMs")) == 2


def test_an_old_referrers_list_is_asked_again_and_kept_when_the_registry_is_down(
    client, sql, fake, web_image
):
    assert client.get(_path("alice/web", "1.0")).status_code == 200
    sql("UPDATE image_documents SET fetched_at = now() - interval '1 hour'")
    fake.down = True

    html = client.get(_path("alice/web", "1.0")).get_data(as_text=True)

    assert "cannot be reached" in html  # the referrers were asked for again
    assert SIG_TYPE in html and SBOM_TYPE in html  # the older list is still shown
    assert "/usr/local/bin/server" in html  # a config is kept for good


def test_a_multi_platform_index_lists_its_platforms_and_shows_each(
    visits, page, make_repo, push, fake
):
    make_repo("alice/multi", visibility="public")
    amd_config, arm_config = _config("amd64"), _config("arm64", variant="v8")
    amd = _manifest(amd_config, [("1", 2000), ("2", 3000)])
    arm = _manifest(arm_config, [("3", 4096)])
    for child, config in ((amd, amd_config), (arm, arm_config)):
        fake.push_blob("alice/multi", config)
        fake.push_manifest("alice/multi", child)
    index = _index(
        [
            (amd, {"os": "linux", "architecture": "amd64"}),
            (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        ]
    )
    push("alice/multi", "latest", index)

    visits.go(_path("alice/multi", "latest"))

    rows = _table_rows(page, "one per platform")
    assert rows == [
        ["linux/amd64", digest_of(amd), f"{len(amd)} B"],
        ["linux/arm64/v8", digest_of(arm), f"{len(arm)} B"],
    ]
    assert json.loads(page.locator("pre#raw-manifest").inner_text()) == json.loads(index)
    assert page.get_by_role("heading", name="Layers").count() == 0

    page.get_by_role("link", name="linux/arm64/v8").click()
    page.wait_for_url(re.compile(r"platform="))
    visits.check("arm64")
    assert page.get_by_role("heading", name="Platform linux/arm64/v8").is_visible()
    assert _table_rows(page, "Layers") == [
        ["1", "sha256:" + "3" * 64, mediatypes.OCI_LAYER_GZIP, "4.0 KiB"]
    ]
    assert _facts(page, "Configuration")["Platform"] == "linux/arm64/v8"
    assert json.loads(page.locator("pre#raw-manifest").inner_text()) == json.loads(arm)

    wrong = visits.go(_path("alice/multi", "latest") + "?platform=sha256:" + "9" * 64)
    assert wrong.status == 404


def _platforms_cell(page, tag: str) -> str:
    """The Platforms cell of ``tag``'s row in the repository page's tags table."""
    row = page.locator("table.tags tbody tr", has=page.get_by_role("rowheader", name=tag))
    return row.locator("td").nth(1).inner_text().strip()


def test_the_tags_table_shows_each_platform_of_an_index_from_its_push(
    visits, page, make_repo, push, fake
):
    make_repo("alice/multi", visibility="public")
    amd, arm = _manifest(_config("amd64"), [("1", 10)]), _manifest(_config("arm64"), [("2", 20)])
    attestation = _manifest(EMPTY_CONFIG, [("3", 30)])
    entries = [
        (amd, {"os": "linux", "architecture": "amd64"}),
        (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        (attestation, {"os": "unknown", "architecture": "unknown"}),  # docker buildx's
    ]
    index = _index(entries)
    push("alice/multi", "latest", index)
    push("alice/multi", "plain", amd)

    visits.go("/r/alice/multi")

    assert page.get_by_role("columnheader", name="Platforms").is_visible()
    assert _platforms_cell(page, "latest") == "linux/amd64, linux/arm64/v8"
    assert _platforms_cell(page, "plain") == ""  # its config was never read: not known
    assert fake.calls == []  # the repository page asks the registry nothing


def test_a_single_image_shows_its_platform_once_its_config_was_read(visits, page, web_image):
    visits.go("/r/alice/web")
    assert _platforms_cell(page, "1.0") == ""

    visits.go(_path("alice/web", "1.0"))  # reads and keeps the config
    visits.go("/r/alice/web")
    assert _platforms_cell(page, "1.0") == "linux/amd64"


def test_an_unreachable_registry_leaves_what_the_index_knows_and_a_notice(
    visits, page, fake, web_image
):
    fake.down = True

    response = visits.go(_path("alice/web", "1.0"))

    assert response.status == 200
    assert "cannot be reached" in page.get_by_role("status").inner_text()
    assert page.get_by_text(digest_of(web_image)).first.is_visible()
    assert [row[1] for row in _table_rows(page, "Layers")] == [
        "sha256:" + "a" * 64,
        "sha256:" + "b" * 64,
    ]
    assert page.get_by_text("is not available now").first.is_visible()


def test_private_repositories_and_unknown_tags_are_not_found(
    visits, page, app, make_repo, push, fake
):
    make_repo("alice/secret")
    config = _config("amd64")
    push("alice/secret", "v1", _manifest(config, [("a", 10)]), blobs=[config])

    for path in (_path("alice/secret", "v1"), _path("alice/secret", "nope")):
        response = visits.go(path)
        assert response.status == 404
        assert page.get_by_role("heading", name="Not found").is_visible()
    fake_calls = len(fake.calls)

    for user, expected in (("bob", 404), ("alice", 200)):
        client = app.test_client()
        signed_in = client.post("/api/v1/session", json={"username": user, "password": PASSWORD})
        assert signed_in.status_code == 200, user
        response = client.get(_path("alice/secret", "v1"))
        assert response.status_code == expected, user
        assert ("Not found" in response.get_data(as_text=True)) is (expected == 404)
        if user == "bob":
            assert len(fake.calls) == fake_calls  # nothing asked for those who may not see
    assert len(fake.calls) > fake_calls
    assert client.get(_path("alice/secret", "nope")).status_code == 404


def test_the_tag_page_holds_no_inline_script_or_style(client, fake, web_image):
    html = client.get(_path("alice/web", "1.0")).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert re.search(r' on[a-z]+="', html) is None
