"""The deploy/ files against the services they deploy (no Docker engine needed).

Catches drift: every ``INDEX_*``/``REGISTRY_*`` variable that compose.yaml, the Kubernetes
manifests, the Dockerfiles, the env examples or ``./deploy/local/up`` set must be one the
services document in their README tables; the env examples must list every documented
variable; the Dockerfiles copy paths that exist and run console scripts the packages
declare; no Secret is committed. PyYAML parses the YAML (it comes with moto[server]).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

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


def k8s_documents() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
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
    docs = k8s_documents()
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
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


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
    assert re.findall(r"^FROM .*", text, re.MULTILINE) == ["FROM python:3.11-slim"]
    for source in re.findall(r"^COPY (\S+) ", text, re.MULTILINE):
        assert (ROOT / source).is_dir(), source
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
