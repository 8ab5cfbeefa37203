"""The deploy/ files against the services they deploy (no Docker engine needed).

Catches drift: every ``INDEX_*``/``REGISTRY_*`` variable that compose.yaml, the Kubernetes
manifests, the Dockerfiles, the env examples or ``./deploy/local/up`` set must be one the
services document in their README tables; the env examples must list every documented
variable; the Dockerfiles copy paths that exist and run console scripts the packages
declare; no Secret is committed. PyYAML parses the YAML (it comes with moto[server]).
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
VARIABLE = re.compile(r"\b(?:INDEX|REGISTRY)_[A-Z0-9_]*[A-Z0-9]\b")
PREFIXES = {"index": "INDEX_", "registry": "REGISTRY_"}


def documented(service: str) -> set[str]:
    """Variables in the first column of ``<service>-service/README.md``'s tables."""
    text = (ROOT / f"{service}-service" / "README.md").read_text()
    names: set[str] = set()
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        previous = ""
        for token in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if "<" in token:  # a pattern row such as REGISTRY_STORAGE_<DRIVER>_<PARAM>
                continue
            if token == "_FILE":
                token = previous + token
            elif token.startswith("_") and previous:
                token = previous.rsplit("_", 1)[0] + token
            if token.startswith(PREFIXES[service]):
                names.add(token)
                previous = token
    for paragraph in text.split("\n\n"):  # "Secrets (`A`, `B`) may be given as `<NAME>_FILE`"
        if "<NAME>_FILE" in paragraph:
            names |= {
                f"{name}_FILE" for name in re.findall(r"`([A-Z_]+)`", paragraph) if name in names
            }
    return names


@pytest.fixture(scope="module")
def docs() -> set[str]:
    names = documented("index") | documented("registry")
    assert {
        "INDEX_DATABASE_URL",
        "INDEX_SECRET_KEY_FILE",
        "REGISTRY_AUTH",
        "REGISTRY_INDEX_CREDENTIAL_FILE",
        "REGISTRY_STORAGE_S3_SECRETKEY",
    } <= names
    return names


def _environment_names(env) -> set[str]:
    """Names of a compose ``environment`` (mapping or list) or a k8s ``env`` list."""
    if isinstance(env, dict):
        return set(env)
    names = set()
    for item in env or ():
        names.add(item["name"] if isinstance(item, dict) else item.split("=", 1)[0])
    return names


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


K8S_BASE = DEPLOY / "k8s" / "base"
WORKER = "wharf-index-worker"  # the webhook worker: no HTTP, so no probes, Service or budget
PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"


def k8s_documents() -> list[dict]:
    """Every document of the base and of the production overlay's own files (patches too)."""
    docs = []
    for path in sorted(K8S_BASE.glob("*.yaml")) + sorted(PRODUCTION.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def k8s_containers() -> list[dict]:
    containers = []
    for doc in k8s_documents():
        if doc["kind"] == "Deployment":
            spec = doc["spec"]["template"]["spec"]
            containers += spec["containers"] + spec.get("initContainers", [])
    return containers


def test_compose_sets_only_documented_variables(docs):
    services = compose()["services"]
    assert {"postgres", "index", "registry", "minio"} <= set(services)
    used = set()
    for service in services.values():
        used |= {n for n in _environment_names(service.get("environment")) if VARIABLE.fullmatch(n)}
    assert used and used <= docs, sorted(used - docs)
    registry = services["registry"]["environment"]
    assert registry["REGISTRY_AUTH"] == "token"
    assert services["minio"]["profiles"] == ["s3"]


def test_compose_runs_the_webhook_worker_from_the_index_image():
    services = compose()["services"]
    worker, index = services["worker"], services["index"]
    assert worker["image"] == index["image"] and worker["build"] == index["build"]
    assert worker["command"] == ["worker"]
    assert worker["environment"] == index["environment"]
    assert worker["secrets"] == index["secrets"]
    assert worker["healthcheck"] == {"disable": True}  # no HTTP port for the image's check
    assert "ports" not in worker
    assert worker["depends_on"]["index-migrate"]["condition"] == "service_completed_successfully"


def test_compose_builds_from_existing_dockerfiles():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert context == ROOT, name
            assert (context / build["dockerfile"]).is_file(), name


def test_k8s_sets_only_documented_variables(docs):
    used = set()
    for container in k8s_containers():
        used |= {n for n in _environment_names(container.get("env")) if VARIABLE.fullmatch(n)}
    assert used and used <= docs, sorted(used - docs)


def test_k8s_registry_scales_on_s3_and_secrets_are_not_committed():
    docs = [d for d in k8s_documents() if d["kind"] != "Deployment" or "replicas" in d["spec"]]
    assert "Secret" not in {doc["kind"] for doc in docs}
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    registry = deployments["wharf-registry"]
    assert registry["spec"]["replicas"] == 2
    env = {
        e["name"]: e.get("value")
        for e in registry["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["REGISTRY_STORAGE"] == "s3" and env["REGISTRY_AUTH"] == "token"
    services = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "Service"}
    assert {"wharf-index", "wharf-registry", "wharf-postgres"} <= services
    worker = deployments[WORKER]
    assert worker["spec"]["replicas"] == 1
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "wharf-index" and container["args"] == ["worker"]
    index = deployments["wharf-index"]["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"] for e in index["env"]} & {e["name"] for e in container["env"]} >= {
        "INDEX_DATABASE_URL_FILE",
        "INDEX_SECRET_KEY_FILE",
    }
    assert "ports" not in container
    worker_pods = worker["spec"]["template"]["metadata"]["labels"]
    for doc in docs:  # no Service sends requests to the worker's pods
        if doc["kind"] == "Service" and doc["spec"].get("selector"):
            assert not doc["spec"]["selector"].items() <= worker_pods.items()
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S_BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert not list((DEPLOY / "k8s").glob("*.yaml")), "manifests belong in base/ or an overlay"


@pytest.mark.parametrize("service", ["index", "registry"])
def test_env_examples_list_every_documented_variable(service, docs):
    text = (DEPLOY / "env" / f"{service}.env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    wanted = documented(service)
    assert listed <= docs, sorted(listed - docs)
    missing = {n for n in wanted - listed if not (n.endswith("_FILE") and n[:-5] in listed)}
    assert not missing, sorted(missing)


@pytest.mark.parametrize("service", ["index", "registry"])
def test_dockerfiles_copy_existing_paths_and_run_declared_scripts(service, docs):
    text = (DEPLOY / f"{service}.Dockerfile").read_text()
    assert re.findall(r"^FROM .*", text, re.MULTILINE) == ["FROM ${PYTHON_IMAGE}"]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE).group(1)
    assert re.fullmatch(r"python:3\.11-slim(@sha256:[0-9a-f]{64})?", base), base
    for source in re.findall(r"^COPY (\S+) ", text, re.MULTILINE):
        assert (ROOT / source).exists(), source
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/healthz" in text
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]', text, re.MULTILINE).group(1)
    pyproject = tomllib.loads((ROOT / f"{service}-service" / "pyproject.toml").read_text())
    assert entrypoint in pyproject["project"]["scripts"]
    env_names = set(
        VARIABLE.findall(" ".join(re.findall(r"^ENV .*(?:\n    .*)*", text, re.MULTILINE)))
    )
    assert env_names <= docs, sorted(env_names - docs)


def test_local_up_sets_only_documented_variables(docs):
    used = set()
    for path in (DEPLOY / "local" / "wharf_local").glob("*.py"):
        used |= set(VARIABLE.findall(path.read_text()))
    assert {"REGISTRY_AUTH", "INDEX_SECRET_KEY_FILE"} <= used
    assert used <= docs, sorted(used - docs)


PACKAGES = ("shared-protocol", "registry-service", "index-service", "testing")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_third_party_dependency_has_an_upper_bound(package):
    """A new major version of a dependency arrives only when a bound is raised on purpose."""
    project = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    third_party = [r for r in requirements if not r.startswith("wharf-")]
    assert third_party, f"{package} lists no dependency"
    unbounded = [r for r in third_party if not re.search(r"<[\d.]+", r)]
    assert unbounded == [], f"{package}: no upper bound on {unbounded}"


# -- locks (deploy/lock) ------------------------------------------------------------------


def _tool(name: str):
    """A module of deploy/tools (the code behind deploy/lock and deploy/pin-images)."""
    qualified = f"wharf_deploy_{name}"
    spec = importlib.util.spec_from_file_location(qualified, DEPLOY / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


locks = _tool("locks")
pin_images = _tool("pin_images")


@pytest.mark.parametrize("lock", locks.LOCKS, ids=lambda lock: lock.path)
def test_every_pyproject_requirement_is_pinned_with_hashes_in_the_lock(lock):
    """A requirement added to a pyproject, or a bound moved past the locked version, fails
    here until ./deploy/lock runs again."""
    pins = locks.parse_lock((ROOT / lock.path).read_text())  # every line: == and a sha256
    wanted = [Requirement(text) for text in locks.requirements(lock.roots)]
    assert len(wanted) > 5
    for requirement in wanted:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{lock.path} lacks {requirement}: run ./deploy/lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock.path}: {pin.name}=={pin.version} does not satisfy {requirement}"
        )
    assert {"pyjwt", "cryptography", "pyyaml"} <= set(pins)


def test_the_images_run_the_versions_the_tests_ran():
    tested = locks.parse_lock((ROOT / locks.TEST_LOCK.path).read_text())
    for lock in locks.LOCKS:
        for name, pin in locks.parse_lock((ROOT / lock.path).read_text()).items():
            assert name in tested and tested[name].version == pin.version, (lock.path, name)


@pytest.mark.parametrize(
    "text",
    [
        "flask>=3.0\n",
        "flask==3.1.0\n",
        "flask==3.1.0 \\\n    --hash=md5:00\n",
        "flask==3.*  --hash=sha256:" + "0" * 64 + "\n",
    ],
)
def test_a_lock_line_without_an_exact_pin_and_a_hash_is_refused(text):
    with pytest.raises(locks.LockError):
        locks.parse_lock(text)


def test_the_tox_environments_install_the_test_lock_and_local_packages_without_deps():
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    assert config["testenv"]["deps"].strip() == "-r {toxinidir}/testing/requirements.lock"
    for section in ("protocol", "harness", "registry", "index", "integration"):
        env = config[f"testenv:{section}"]
        assert "deps" not in env, section
        install, check = env["commands_pre"].strip().splitlines()
        assert "--no-deps" in install and "pip check" in check, section


# -- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["index", "registry"])
def test_dockerfiles_install_the_hashed_lock_before_copying_the_source(service):
    lines = (DEPLOY / f"{service}.Dockerfile").read_text().splitlines()
    copies = [i for i, line in enumerate(lines) if line.startswith("COPY ")]
    lock_copy = copies[0]
    assert lines[lock_copy].split()[1] == f"{service}-service/requirements.lock"
    install = lines[lock_copy + 1]
    assert install.startswith("RUN pip install --require-hashes --no-deps -r ")
    sources = [lines[i].split()[1] for i in copies[1:]]
    assert sources == ["shared-protocol", f"{service}-service"]
    rest = "\n".join(lines[copies[-1] :])
    assert "pip install --no-deps /src/shared-protocol" in rest and "pip check" in rest


SAMPLE_DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.11-slim
ARG OTHER=unused:1
FROM ${PYTHON_IMAGE} AS build
RUN true
FROM --platform=linux/amd64 debian:12-slim@sha256:%s
COPY --from=build /x /x
FROM build
FROM scratch
""" % ("1" * 64)

SAMPLE_COMPOSE = """\
services:
  db:
    image: postgres:15   # the database
  app:
    image: wharf-index:latest
    build: {context: .}
"""


def _digest(reference):
    """The digest the fake lookup gives ``reference``: distinct per tag, and stable."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def _fake_lookup(calls):
    """A digest lookup without network that records the references it was asked for."""

    def lookup(reference):
        calls.append(reference)
        return _digest(reference)

    return lookup


def test_pin_images_rewrites_base_images_to_tag_and_digest(tmp_path):
    calls = []
    text = pin_images.pin_dockerfile(SAMPLE_DOCKERFILE, _fake_lookup(calls))
    assert calls == ["python:3.11-slim", "debian:12-slim"]  # an old digest is looked up again
    lines = text.splitlines()
    assert lines[0] == f"ARG PYTHON_IMAGE=python:3.11-slim@{_digest('python:3.11-slim')}"
    assert lines[1] == "ARG OTHER=unused:1"  # no FROM names it
    assert lines[2] == "FROM ${PYTHON_IMAGE} AS build"
    assert lines[4] == f"FROM --platform=linux/amd64 debian:12-slim@{_digest('debian:12-slim')}"
    assert lines[6:] == ["FROM build", "FROM scratch"]  # a stage and scratch are not pulled
    assert pin_images.pin_dockerfile(text, _fake_lookup([])) == text  # idempotent

    compose_text = pin_images.pin_compose(SAMPLE_COMPOSE, _fake_lookup(calls := []))
    assert calls == ["postgres:15"]
    assert f"    image: postgres:15@{_digest('postgres:15')}   # the database\n" in compose_text
    assert "    image: wharf-index:latest\n" in compose_text  # built here, not pulled

    # The script over a copy of deploy/: --check fails until every image is pinned.
    for name in (*pin_images.DOCKERFILES, pin_images.COMPOSE):
        shutil.copy(DEPLOY / name, tmp_path / name)
    argv = ["--deploy-dir", str(tmp_path)]
    assert pin_images.main([*argv, "--check"]) == 1
    assert pin_images.main(argv, lookup=_fake_lookup(calls := [])) == 0
    assert pin_images.main([*argv, "--check"]) == 0
    assert sorted(set(calls)) == sorted(calls)  # each tag looked up once
    pinned = (tmp_path / "registry.Dockerfile").read_text()
    assert f"ARG PYTHON_IMAGE=python:3.11-slim@{_digest('python:3.11-slim')}\n" in pinned
    services = yaml.safe_load((tmp_path / "compose.yaml").read_text())["services"]
    assert services["postgres"]["image"] == f"postgres:15@{_digest('postgres:15')}"


def test_pin_images_writes_nothing_when_a_lookup_fails(tmp_path, capsys):
    for name in (*pin_images.DOCKERFILES, pin_images.COMPOSE):
        shutil.copy(DEPLOY / name, tmp_path / name)
    before = (tmp_path / "compose.yaml").read_text()

    def failing(reference):
        if reference.startswith("postgres"):
            raise pin_images.PinError(f"skopeo inspect {reference} failed: no network")
        return "sha256:" + "a" * 64

    assert pin_images.main(["--deploy-dir", str(tmp_path)], lookup=failing) == 1
    assert "no network" in capsys.readouterr().err
    assert (tmp_path / "compose.yaml").read_text() == before
    assert "\nARG PYTHON_IMAGE=python:3.11-slim\n" in (tmp_path / "index.Dockerfile").read_text()
    with pytest.raises(pin_images.PinError, match="not a sha256 digest"):
        pin_images.pin("python:3.11-slim", lambda ref: "latest")


def _not_pinned_yet() -> str:
    """deploy/README.md's section listing the images not pinned by digest yet."""
    text = (DEPLOY / "README.md").read_text()
    return text.split("### Not pinned yet", 1)[1].split("\n#", 1)[0]


def test_every_pulled_image_is_pinned_or_listed_as_not_pinned_yet():
    listed = _not_pinned_yet()
    references = []
    for path, _, found in pin_images.files():
        references += found(path.read_text())
    for image in _render(PRODUCTION)["images"]:
        references.append(image)
    assert len(references) >= 6
    for reference in references:
        assert pin_images.is_pinned(reference) or f"`{reference}`" in listed, reference
    # And the list names nothing that has been pinned since.
    named = set(re.findall(r"`([a-z0-9./-]+:[\w.-]+)`", listed))
    assert named == {r for r in references if not pin_images.is_pinned(r)}


# -- health checks --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> dict[str, set[str]]:
    """The URL rules of the real apps (built from settings; nothing is started)."""
    from wharf_index.app import create_app as index_app
    from wharf_index.settings import Settings as IndexSettings
    from wharf_registry.app import create_app as registry_app
    from wharf_registry.settings import Settings as RegistrySettings

    index = index_app(
        IndexSettings.from_env(
            {"INDEX_DATABASE_URL": "postgresql://u@127.0.0.1:1/x", "INDEX_SECRET_KEY": "k" * 40}
        )
    )
    registry = registry_app(
        RegistrySettings.from_env(
            {
                "REGISTRY_STORAGE": "filesystem",
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path_factory.mktemp("r")),
            }
        )
    )
    return {
        name: {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith("z")}
        for name, app in (("index", index), ("registry", registry))
    }


def _healthcheck_path(service: dict) -> str:
    command = " ".join(service["healthcheck"]["test"])
    return re.search(r"https?://127\.0\.0\.1:\d+(/\w+)", command).group(1)


def test_compose_health_checks_probe_existing_endpoints_and_gate_start_up(routes):
    services = compose()["services"]
    assert _healthcheck_path(services["index"]) == "/readyz" in routes["index"]
    assert _healthcheck_path(services["registry"]) == "/readyz" in routes["registry"]
    tls = yaml.safe_load((DEPLOY / "compose.tls.yaml").read_text())["services"]
    assert _healthcheck_path(tls["registry"]) == "/readyz" == _healthcheck_path(tls["index"])
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert services["index"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["registry"]["depends_on"]["index"]["condition"] == "service_healthy"


# The services' own TLS settings (both READMEs document them).
TLS_SETTINGS = {
    "INDEX_HTTP_TLS_CERTIFICATE",
    "INDEX_HTTP_TLS_KEY",
    "REGISTRY_HTTP_TLS_CERTIFICATE",
    "REGISTRY_HTTP_TLS_KEY",
    "REGISTRY_INDEX_TLS_CA",
}


def test_compose_tls_override_serves_https_with_mounted_certificates(docs, routes):
    base = compose()["services"]
    tls = yaml.safe_load((DEPLOY / "compose.tls.yaml").read_text())["services"]
    assert set(tls) <= set(base)
    used = set()
    for service in tls.values():
        used |= {n for n in _environment_names(service.get("environment")) if VARIABLE.match(n)}
    assert TLS_SETTINGS <= used and used <= docs, sorted(used - docs)
    mounts = {}
    for name in ("index", "registry"):
        (volume,) = tls[name]["volumes"]
        source, target, mode = volume.rsplit(":", 2)
        assert mode == "ro"
        mounts[name] = target
        command = " ".join(tls[name]["healthcheck"]["test"])
        assert "https://127.0.0.1" in command and f"cafile='{target}/ca.pem'" in command
        assert _healthcheck_path(tls[name]) in routes[name]
    index, registry = tls["index"]["environment"], tls["registry"]["environment"]
    assert index["INDEX_HTTP_TLS_CERTIFICATE"].startswith(mounts["index"] + "/")
    assert registry["REGISTRY_INDEX_TLS_CA"] == mounts["registry"] + "/ca.pem"
    assert registry["REGISTRY_INDEX_URL"].startswith("https://")
    assert "TLS" in (DEPLOY / "README.md").read_text().split("## Docker Compose", 1)[1]


# -- Kubernetes -----------------------------------------------------------------------------


def _merge(base, patch):
    """A strategic merge as far as the overlays use it: maps merge, lists of named items
    merge by name, other lists and values are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and all("name" in p for p in patch):
        merged = [dict(item) for item in base]
        names = [item.get("name") for item in merged]
        for item in patch:
            if item["name"] in names:
                index = names.index(item["name"])
                merged[index] = _merge(merged[index], item)
            else:
                merged.append(item)
        return merged
    return patch


def _render(directory: Path) -> dict:
    """What ``kubectl kustomize`` builds from ``directory``, for what the overlays use
    (resources, patches by path, images); returns {"documents", "images"}."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        if path.is_dir():
            documents += _render(path)["documents"]
        else:
            documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for patch in kustomization.get("patches", []):
        body = yaml.safe_load((directory / patch["path"]).read_text())
        key = (body["kind"], body["metadata"]["name"])
        (index,) = [i for i, d in enumerate(documents) if (d["kind"], d["metadata"]["name"]) == key]
        documents[index] = _merge(documents[index], body)
    replace = {}
    for image in kustomization.get("images", []):
        reference = image.get("newName", image["name"])
        if "newTag" in image:
            reference += f":{image['newTag']}"
        if "digest" in image:
            reference += f"@{image['digest']}"
        replace[image["name"]] = reference
    images = []
    for document in documents:
        if document["kind"] == "Deployment":
            spec = document["spec"]["template"]["spec"]
            for container in spec["containers"] + spec.get("initContainers", []):
                container["image"] = replace.get(container["image"], container["image"])
                images.append(container["image"])
    return {"documents": documents, "images": sorted(set(images))}


def _by_kind(documents, kind):
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_production_overlay_runs_replicated_registries_behind_a_tls_ingress(routes):
    documents = _render(PRODUCTION)["documents"]
    kustomization = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
    assert "../../base" in kustomization["resources"]
    deployments = _by_kind(documents, "Deployment")
    worker = deployments.pop(WORKER)
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == ["worker"]
    registry = deployments["wharf-registry"]
    assert registry["spec"]["replicas"] >= 2
    pods = registry["spec"]["template"]["metadata"]["labels"]

    # A PodDisruptionBudget for each service, selecting exactly its pods.
    budgets = _by_kind(documents, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        (budget,) = [
            b
            for b in budgets.values()
            if b["spec"]["selector"]["matchLabels"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert budget["spec"].get("minAvailable", 0) >= 1 or "maxUnavailable" in budget["spec"]
        assert deployment["spec"]["replicas"] > budget["spec"].get("minAvailable", 0), name
    assert budgets["wharf-registry"]["spec"]["selector"]["matchLabels"].items() <= pods.items()
    worker_pods = worker["spec"]["template"]["metadata"]["labels"]
    assert not [
        b
        for b in budgets.values()
        if b["spec"]["selector"]["matchLabels"].items() <= worker_pods.items()
    ]

    # Probes on paths the services answer; resource requests on every container.
    for name, deployment in deployments.items():
        service = name.removeprefix("wharf-")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        for probe in ("readinessProbe", "livenessProbe"):
            path = container[probe]["httpGet"]["path"]
            assert path in routes[service], (name, probe, path)
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
    index = deployments["wharf-index"]["spec"]["template"]["spec"]["containers"][0]
    assert index["readinessProbe"]["httpGet"]["path"] == "/readyz"
    registry_container = registry["spec"]["template"]["spec"]["containers"][0]
    assert registry_container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert registry_container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"name": "INDEX_TRUSTED_PROXIES", "value": "1"} in index["env"]

    # Ingress: TLS for every host, the registry without a body size limit.
    ingresses = _by_kind(documents, "Ingress")
    services = _by_kind(documents, "Service")
    for ingress in ingresses.values():
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        tls_hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
        assert hosts <= tls_hosts and all(tls["secretName"] for tls in ingress["spec"]["tls"])
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services
    annotations = ingresses["wharf-registry"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    backends = {
        p["backend"]["service"]["name"]
        for i in ingresses.values()
        for r in i["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert backends == {"wharf-index", "wharf-registry"}


def test_compose_env_example_lists_every_variable_the_compose_files_read():
    listed = set(
        re.findall(
            r"^#? ?(WHARF_[A-Z0-9_]+)=",
            (DEPLOY / "env" / "compose.env.example").read_text(),
            re.MULTILINE,
        )
    )
    read = set()
    for name in ("compose.yaml", "compose.tls.yaml"):
        text = (DEPLOY / name).read_text()  # ${WHARF_X...} and secrets' `environment: WHARF_X`
        read |= set(re.findall(r"\$\{(WHARF_[A-Z0-9_]+)|environment: (WHARF_[A-Z0-9_]+)", text))
    read = {a or b for a, b in read}
    assert "WHARF_TLS_DIR" in read
    assert read == listed, (sorted(read - listed), sorted(listed - read))
