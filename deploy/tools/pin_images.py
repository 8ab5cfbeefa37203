"""Pin the base and third-party images of deploy/ to digests: ``deploy/pin-images``.

A tag (``python:3.11-slim``) can be moved to other content at any time; ``name:tag@sha256:``
cannot, and the tag stays for the reader. For every image this repository pulls rather than
builds, the tag is looked up in its registry with
``skopeo inspect --format '{{.Digest}}' docker://name:tag`` (the digest of the top-level
manifest, a multi-platform list where there is one) and the reference rewritten in place:

* Dockerfiles: ``FROM name:tag`` lines, and for ``FROM ${ARG}`` the default of that
  ``ARG`` (how deploy/*.Dockerfile take their base image);
* compose.yaml: the ``image:`` of every service without a ``build:`` (PostgreSQL, MinIO).

A reference already pinned is looked up again by its tag (so the script also moves pins
forward). ``--check`` changes nothing and exits 1 while a reference has no digest.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1]
DOCKERFILES = ("index.Dockerfile", "registry.Dockerfile")
COMPOSE = "compose.yaml"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

Lookup = Callable[[str], str]


class PinError(RuntimeError):
    """A digest could not be found, or is not one."""


def skopeo_digest(reference: str) -> str:
    """The digest of ``reference`` (``name:tag``) in its registry, by skopeo."""
    argv = ["skopeo", "inspect", "--format", "{{.Digest}}", f"docker://{reference}"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PinError(f"skopeo inspect {reference}: {exc}") from exc
    if result.returncode != 0:
        raise PinError(f"skopeo inspect {reference} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def split_reference(reference: str) -> tuple[str, str | None]:
    """``name:tag@sha256:...`` -> (``name:tag``, digest or None)."""
    name, _, digest = reference.partition("@")
    return name, digest or None


def is_pinned(reference: str) -> bool:
    return bool(DIGEST.fullmatch(split_reference(reference)[1] or ""))


def pin(reference: str, lookup: Lookup) -> str:
    """``name:tag`` (an old digest dropped) followed by the digest ``lookup`` gives now."""
    name, _ = split_reference(reference)
    if ":" not in name.rsplit("/", 1)[-1]:
        raise PinError(f"{reference}: no tag to resolve (write name:tag)")
    digest = lookup(name)
    if not DIGEST.fullmatch(digest):
        raise PinError(f"{name}: {digest!r} is not a sha256 digest")
    return f"{name}@{digest}"


_FROM = re.compile(r"^(FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE)
_ARG = re.compile(r"^(ARG\s+)([A-Za-z_][A-Za-z0-9_]*)=(\S+)(.*)$", re.IGNORECASE)
_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def dockerfile_references(text: str) -> list[str]:
    """The pulled base references of a Dockerfile: FROM targets and the ARG defaults that
    FROM lines name (stage names and ``scratch`` excluded)."""
    arg_defaults, stages, found = {}, set(), []
    for line in text.splitlines():
        if m := _ARG.match(line):
            arg_defaults[m.group(2)] = m.group(3)
        elif m := _FROM.match(line):
            target = m.group(2)
            if v := _VARIABLE.match(target):
                if v.group(1) not in arg_defaults:
                    raise PinError(f"FROM {target}: the ARG has no default to pin")
                found.append(arg_defaults[v.group(1)])
            elif target.lower() != "scratch" and target not in stages:
                found.append(target)
            if alias := re.search(r"\s+AS\s+(\S+)", m.group(3), re.IGNORECASE):
                stages.add(alias.group(1))
    return found


def pin_dockerfile(text: str, lookup: Lookup) -> str:
    """``text`` with each FROM target, or the default of the ARG it names, pinned."""
    from_args = {
        v.group(1)
        for m in map(_FROM.match, text.splitlines())
        if m and (v := _VARIABLE.match(m.group(2)))
    }
    pulled = set(dockerfile_references(text))
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        m = _ARG.match(body)
        if m and m.group(2) in from_args:
            body = f"{m.group(1)}{m.group(2)}={pin(m.group(3), lookup)}{m.group(4)}"
        elif (m := _FROM.match(body)) and m.group(2) in pulled:
            body = f"{m.group(1)}{pin(m.group(2), lookup)}{m.group(3)}"
        out.append(body + line[len(line.rstrip("\n")) :])
    return "".join(out)


_IMAGE = re.compile(r"^(\s*image:\s*)(\S+)(.*)$")


def compose_references(text: str) -> list[str]:
    """The ``image:`` of each compose service that is pulled (has no ``build:``)."""
    services = yaml.safe_load(text).get("services", {})
    return [s["image"] for s in services.values() if "image" in s and "build" not in s]


def pin_compose(text: str, lookup: Lookup) -> str:
    """``text`` with the pulled services' ``image:`` lines pinned (comments kept)."""
    pulled = set(compose_references(text))
    out = []
    for line in text.splitlines(keepends=True):
        m = _IMAGE.match(line.rstrip("\n"))
        if m and m.group(2) in pulled:
            line = f"{m.group(1)}{pin(m.group(2), lookup)}{m.group(3)}\n"
        out.append(line)
    return "".join(out)


def files(deploy: Path = DEPLOY) -> list[tuple[Path, Callable[[str, Lookup], str], Callable]]:
    """(path, rewrite, references) for every file the script pins."""
    targets = [(deploy / n, pin_dockerfile, dockerfile_references) for n in DOCKERFILES]
    return [*targets, (deploy / COMPOSE, pin_compose, compose_references)]


def main(argv: list[str] | None = None, lookup: Lookup = skopeo_digest) -> int:
    parser = argparse.ArgumentParser(
        prog="deploy/pin-images",
        description="Rewrite the pulled images of deploy/ (Dockerfile bases, compose images) "
        "as name:tag@sha256:digest, resolving each tag with skopeo inspect.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if an image has no digest"
    )
    parser.add_argument("--deploy-dir", type=Path, default=DEPLOY, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        loose = [
            f"{path.name}: {ref}"
            for path, _, references in files(args.deploy_dir)
            for ref in references(path.read_text())
            if not is_pinned(ref)
        ]
        for item in loose:
            print(f"pin-images: not pinned: {item}", file=sys.stderr)
        return 1 if loose else 0
    cache: dict[str, str] = {}

    def cached(reference: str) -> str:
        if reference not in cache:
            cache[reference] = lookup(reference)
        return cache[reference]

    try:
        rewritten = [
            (path, rewrite(path.read_text(), cached)) for path, rewrite, _ in files(args.deploy_dir)
        ]
    except PinError as exc:
        print(f"pin-images: error: {exc}", file=sys.stderr)
        return 1
    for path, text in rewritten:  # nothing is written unless every lookup succeeded
        path.write_text(text)
    for reference, digest in sorted(cache.items()):
        print(f"{reference}@{digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
