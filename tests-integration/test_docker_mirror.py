"""Docker's engine pulling through a Wharf registry that mirrors a registry, and from its
cache once that registry is gone.

The upstream is a stock ``docker-registry`` (CNCF Distribution) on ``registry2`` holding
``library/app:1`` (pushed with skopeo); a Wharf registry on ``registry`` mirrors it
(``REGISTRY_PROXY_REMOTEURL``, ``REGISTRY_PROXY_TTL=0``: every pull of the tag asks the
upstream first, so with the upstream stopped the mirror really serves its cached copy as
stale rather than not asking). Two ways a Docker user meets a mirror:

- ``docker pull MIRROR:PORT/library/app:1`` on the session's engine;
- an engine started with ``--registry-mirror http://MIRROR:PORT`` (``registry-mirrors`` in
  ``daemon.json``, as operators configure a Docker Hub mirror), where ``docker pull app:1``
  means ``docker.io/library/app:1`` and the engine asks the mirror first. A second engine of
  its own (on the client host beside the session's) so no other test sees the option.

After each pull the engine holds the upstream's image (its repository digest is the
upstream's manifest digest, its id the config's digest, its layers the config's
``diff_ids``, which the engine checks against the layers it unpacked); the mirror's access
log shows the engine's requests (its user agent) and the upstream's log shows the mirror's,
so nothing else served them: the sandbox has no route out, and the engine's log shows no
attempt at another endpoint. Then the upstream is stopped, the image removed from the
engine, and pulled again, from the mirror's cache.
"""

from __future__ import annotations

import json
import shutil
import tempfile

import pytest
from docker_cli import DockerCli
from mirrors import requests_logged, start_mirror, start_upstream
from oci_client import Image
from skopeo import Skopeo
from wharf_testing.dockerd import DockerDaemon, DockerError

REPOSITORY = "library/app"
# What dockerd logs when a pull from one endpoint (the mirror) failed and it tries the
# next (Docker Hub itself).
FALLBACK = "Attempting next endpoint"
# What the mirror logs when it serves a tag it holds because the upstream did not answer.
STALE = f"serving {REPOSITORY}:1 from the cache: upstream"


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="wharf-it-docker-mirror-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def upstream(network):
    registry = start_upstream(network, "docker-upstream", 5210)
    yield registry
    registry.close()


@pytest.fixture
def image(network, upstream, workdir) -> Image:
    """``library/app:1`` pushed to the upstream with skopeo."""
    pushed = Image.random(layers=3, label="docker-mirrored")
    layout = pushed.write_layout(tempfile.mkdtemp(dir=workdir), "1")
    skopeo = Skopeo(network["client"], tempfile.mkdtemp(dir=workdir))
    skopeo.copy(layout, f"docker://{upstream.address}/{REPOSITORY}:1", check=True)
    return pushed


@pytest.fixture
def mirror(network, upstream, workdir):
    service = start_mirror(
        network, workdir, "docker", upstream.url, 5310, env={"REGISTRY_PROXY_TTL": "0"}
    )
    yield service
    service.close()


@pytest.fixture
def hub_engine(network, mirror):
    """A Docker engine on the client host whose Docker Hub mirror is ``mirror``."""
    failure = None
    try:
        daemon = DockerDaemon(
            prefix=network["client"].net_prefix,
            insecure_registries=[network.cidr],
            registry_mirrors=[mirror.url],
        )
        daemon.start(timeout=90)
    except DockerError as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(f"the mirror's Docker engine did not start: {failure}", pytrace=False)
    yield daemon
    daemon.stop()


def _pull_and_check(docker: DockerCli, reference: str, repo_digest: str, image: Image) -> None:
    """Pull ``reference`` into an engine that does not hold it and check what it holds."""
    docker.remove(reference)
    assert docker.inspect(reference) is None
    docker.pull(reference, check=True)
    info = docker.inspect(reference)
    assert info is not None, f"the engine has no {reference} after pulling it"
    assert repo_digest in info["RepoDigests"], info["RepoDigests"]
    assert info["Id"] == image.config_digest
    assert info["RootFS"]["Layers"] == json.loads(image.config)["rootfs"]["diff_ids"]


def _parts(image: Image) -> dict[str, tuple[str, ...]]:
    """The image's paths under its repository and the methods that count as serving them:
    the tag's manifest (Docker asks ``HEAD`` of it, then ``GET`` by digest unless its
    containerd still holds that manifest: not counted), the config and each layer."""
    parts = {"manifests/1": ("GET", "HEAD")}
    return parts | {f"blobs/{d}": ("GET",) for d in (image.config_digest, *image.layer_digests)}


def _served(log: str, image: Image, *, user_agent: str = "") -> dict[str, int]:
    """How many times the log shows each of the image's parts answered 200 to a client whose
    user agent holds ``user_agent``."""
    counts = {}
    for part, methods in _parts(image).items():
        path = f"/v2/{REPOSITORY}/{part}"
        lines = [line for method in methods for line in requests_logged(log, method, path)]
        counts[part] = sum(user_agent in line for line in lines)
    return counts


def _manifest_by_digest_served(log: str, image: Image) -> bool:
    path = f"/v2/{REPOSITORY}/manifests/{image.digest}"
    return any('"docker/' in line for line in requests_logged(log, "GET", path))


def _all(image: Image, times: int) -> dict[str, int]:
    return dict.fromkeys(_parts(image), times)


def _blobs(counts: dict[str, int]) -> dict[str, int]:
    return {part: n for part, n in counts.items() if part.startswith("blobs/")}


def test_docker_pulls_from_a_mirror_by_its_address_and_from_its_cache(
    upstream, image, mirror, make_docker
):
    docker = make_docker("mirror")
    address = f"{mirror.host}:{mirror.port}"
    reference = f"{address}/{REPOSITORY}:1"
    repo_digest = f"{address}/{REPOSITORY}@{image.digest}"

    _pull_and_check(docker, reference, repo_digest, image)
    assert _served(mirror.log(), image, user_agent='"docker/') == _all(image, 1), mirror.log()
    assert _manifest_by_digest_served(mirror.log(), image), mirror.log()
    # The mirror fetched each blob from the upstream once, and the tag's manifest.
    upstream_served = _served(upstream.log(), image)
    assert _blobs(upstream_served) == _blobs(_all(image, 1)), upstream.log()[-3000:]
    assert upstream_served["manifests/1"] >= 1

    upstream.stop()
    _pull_and_check(docker, reference, repo_digest, image)
    assert _served(mirror.log(), image, user_agent='"docker/') == _all(image, 2), mirror.log()
    assert STALE in mirror.log(), mirror.log()  # it asked the stopped upstream first


def test_docker_hub_pulls_go_to_the_engines_registry_mirror(
    network, upstream, image, mirror, hub_engine, workdir
):
    docker = DockerCli(hub_engine, network["client"], tempfile.mkdtemp(dir=workdir))
    info = json.loads(
        docker.run("info", "--format", "{{json .RegistryConfig.Mirrors}}", check=True).stdout
    )
    assert info == [mirror.url + "/"]
    # "app:1" is docker.io/library/app:1: Docker Hub's, which the engine asks of its mirror.
    repo_digest = f"app@{image.digest}"

    _pull_and_check(docker, "app:1", repo_digest, image)
    assert _served(mirror.log(), image, user_agent='"docker/') == _all(image, 1), mirror.log()
    assert _manifest_by_digest_served(mirror.log(), image), mirror.log()
    upstream_served = _served(upstream.log(), image)
    assert _blobs(upstream_served) == _blobs(_all(image, 1)), upstream.log()[-3000:]
    assert FALLBACK not in hub_engine.log(), hub_engine.log_tail(60)

    upstream.stop()
    _pull_and_check(docker, "docker.io/library/app:1", repo_digest, image)
    assert _served(mirror.log(), image, user_agent='"docker/') == _all(image, 2), mirror.log()
    assert STALE in mirror.log(), mirror.log()  # it asked the stopped upstream first
    assert FALLBACK not in hub_engine.log(), hub_engine.log_tail(60)

    # What the engine does when its mirror cannot serve a pull: it logs the fallback and
    # tries Docker Hub itself, which the sandbox cannot reach, so the pull fails.
    missing = docker.pull("app:absent")
    assert missing.returncode != 0, missing.stdout
    assert requests_logged(mirror.log(), "HEAD", f"/v2/{REPOSITORY}/manifests/absent", 503)
    assert FALLBACK in hub_engine.log(), hub_engine.log_tail(60)
    assert docker.inspect("app:absent") is None
