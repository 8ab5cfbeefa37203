"""Benchmark the cost of token mode: the same registry with ``REGISTRY_AUTH=token`` and with
``REGISTRY_AUTH=none``, in the same run, on disk storage (run by hand, never by CI).

    python bench/token_bench.py --quick    # about a minute
    python bench/token_bench.py            # full: 5 interleaved rounds, ~5 minutes

Starts its own PostgreSQL (wharf_testing.postgres.PostgresServer), migrates and seeds it
with the ``wharf-index`` CLI (``migrate``, ``user create``, ``registry add ... --kind
sponsor``, whose printed credential the token registry gets), the Index under gunicorn
(2 workers x 8 threads, ``wharf_index.gunicorn_conf``) and two registries under gunicorn
with ``wharf-registry serve``'s settings (2 workers x 16 threads, access log on), each on
its own storage directory: one with ``REGISTRY_AUTH=token`` (remote verification, cache TTL
30 s, the durable event outbox on, as the product runs), one with ``REGISTRY_AUTH=none``
(no events). It pushes the same image (64 layers of 1 MiB, a config, an OCI manifest
tagged ``bench``) to both, through the token flow for the token registry, then measures,
alternating the two registries figure by figure:

- the image pull, MB/s: manifest GET + 64 blob GETs, at concurrency 1 and 16;
- manifest HEAD (no event) and GET (a pull counted in memory, written to the outbox as one
  counted event per flush interval) by tag, requests/s, at concurrency 1 and 16.

The client behaves like docker: each round it follows the registry's 401 challenge to the
Index's ``/v2/token`` (Basic credentials of the user) and reuses that one token (Bearer) for
every request, so what is measured is the registry's verification cache. A separate line
measures cold tokens: manifest HEAD where every request carries a token never used before,
pre-issued by the Index, so that each one costs the registry a verification call to the
Index. After each token-mode figure the bench waits for the outbox to be delivered
(bounded) and counts that time's CPU in the figure's CPU per operation.

``--part jwt`` (run first by default, ``--part index`` skips it) measures what checking the
token JWTs with the published public keys costs, without PostgreSQL:

- token verifications per second in one thread, in-process: the registry's local check
  (``local_verification`` over ``PublishedKeys``: signature, ``iss``, ``aud``, time) of an
  ES256 and of an RS256 token, a cache hit of remote mode, and, as the baseline, the old
  HMAC check the registry did before (an itsdangerous ``URLSafeSerializer`` with salt
  ``wharf.registry-token`` and SHA-256, then the same claim checks), reimplemented here;
- manifest GET requests per second (c=1 and 16) and the registry's CPU per request at four
  registries under gunicorn (2 workers x 16 threads): ``none``; ``remote``, with one token
  reused, so every request after the first is a cache hit (the Index is a stand-in,
  ``bench_stub_index.py``, serving the JWK Set and the verify endpoint); ``local`` with an
  ES256 and with an RS256 token server key (every request checks the signature).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_http import Connection
from bench_servers import WHARF_GUNICORN_ARGS, WHARF_SETTINGS, disk_storage
from bench_stack import (
    SOURCES,
    USER,
    IndexStack,
    challenge_token,
    index_tokens,
    loadavg,
)
from bench_workload import (
    OCI_MANIFEST,
    BlobData,
    MiB,
    concurrently,
    fresh_token_rps,
    manifest_rps,
    pull_blob,
    push_blob,
    push_manifest,
    tree_cpu,
)

# bench_stack (imported above) has put the repository's src/ directories on sys.path
from wharf_protocol.keys import KeySet, SigningKey  # noqa: E402
from wharf_protocol.scopes import parse_scope  # noqa: E402
from wharf_protocol.tokens import Claims, TokenIssuer  # noqa: E402
from wharf_registry.auth.published import PublishedKeys  # noqa: E402
from wharf_registry.auth.token import RemoteVerification, local_verification  # noqa: E402
from wharf_testing.services import GunicornService  # noqa: E402

REGISTRY_NAME = "bench"
REPO, TAG = "bench/image", "bench"
MANIFEST_PATH = f"/v2/{REPO}/manifests/{TAG}"
ACCEPT = {"Accept": OCI_MANIFEST}
MODES = ("none", "token")


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float  # per figure and mode
    cold_tokens: tuple[int, int]  # tokens pre-issued for the cold line at c=1, c=16
    cold_seconds: float
    levels: tuple[int, ...] = (1, 16)
    layers: int = 64


QUICK = Plan(rounds=1, seconds=1.5, cold_tokens=(150, 400), cold_seconds=4.0)
FULL = Plan(rounds=5, seconds=3.0, cold_tokens=(600, 2000), cold_seconds=10.0)


class Stack(IndexStack):
    """PostgreSQL, the Index and the two registries; :meth:`close` stops them (by pid)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("wharf_token_bench")
        try:
            self.registries: dict[str, GunicornService] = {}
            self.roots: dict[str, Path] = {}
            for mode in MODES:
                root = workdir / f"storage-{mode}"
                root.mkdir()
                name = REGISTRY_NAME if mode == "token" else "none"
                self.registries[mode], _ = self.registry(root, mode, name)
                self.roots[mode] = root
        except BaseException:
            self.close()
            raise

    def outbox_left(self) -> int:
        outbox = self.roots["token"] / "wharf" / "outbox"
        return len(list(outbox.iterdir())) if outbox.is_dir() else 0


# -- the image -----------------------------------------------------------------------------


class Image:
    """64 layers of 1 MiB, their config and the manifest tagged ``bench``."""

    def __init__(self, layers: int) -> None:
        self.layers = [BlobData(5000 + i, MiB) for i in range(layers)]
        self.size = sum(b.size for b in self.layers)

    def push(self, port: int, headers: dict[str, str]) -> bytes:
        """Push every layer (16 connections), then the config and the manifest; return the
        manifest's bytes."""
        concurrently(port, self.layers, 16, lambda c, b: push_blob(c, REPO, b), headers)
        conn = Connection("127.0.0.1", port, headers=headers)
        try:
            push_manifest(conn, REPO, self.layers)  # also checks a GET returns the bytes
            return conn.request("GET", MANIFEST_PATH, headers=ACCEPT).body
        finally:
            conn.close()

    def pull(self, port: int, headers: dict[str, str], level: int, manifest: bytes) -> None:
        """What a client does: the manifest by tag, then every layer from ``level`` threads."""
        conn = Connection("127.0.0.1", port, headers=headers)
        try:
            response = conn.request("GET", MANIFEST_PATH, headers=ACCEPT)
        finally:
            conn.close()
        if response.status != 200 or response.body != manifest:
            raise RuntimeError(f"manifest GET: {response.status}")
        concurrently(port, self.layers, level, lambda c, b: pull_blob(c, REPO, b), headers)


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Sample:
    value: float  # MB/s or requests/s
    registry_ms: float  # the registry's CPU per operation (pull or request), ms
    index_ms: float  # the Index's and PostgreSQL's CPU per operation, ms (0 for none)
    drained: float  # seconds the outbox took to be delivered after the figure


def pull_rate(
    image: Image, port: int, headers: dict, level: int, seconds: float, manifest: bytes
) -> tuple[float, int]:
    """Pull the image repeatedly for ``seconds`` (at least once); return (MB/s, pulls)."""
    pulls, start = 0, time.perf_counter()
    while pulls == 0 or time.perf_counter() - start < seconds:
        image.pull(port, headers, level, manifest)
        pulls += 1
    return pulls * image.size / 1e6 / (time.perf_counter() - start), pulls


def settle(stack: Stack, mode: str, timeout: float = 60.0) -> float:
    """Wait until the token registry's outbox is delivered; return the seconds waited."""
    start = time.perf_counter()
    if mode == "token":
        while stack.outbox_left() and time.perf_counter() - start < timeout:
            time.sleep(0.05)
        if stack.outbox_left():
            print(f"   outbox not empty after {timeout:.0f} s: {stack.outbox_left()} objects")
    return time.perf_counter() - start


def measure(stack: Stack, mode: str, work: Callable[[], tuple[float, int]]) -> Sample:
    """Run ``work`` -> (value, operations), then wait for the outbox to be delivered; the
    CPU per operation of the registry and of the Index + PostgreSQL covers both."""
    registry, index = [stack.registries[mode].pid], [stack.index.pid, stack.postgres.pid]
    before = tree_cpu(registry), tree_cpu(index)
    value, operations = work()
    drained = settle(stack, mode)
    ops = max(1, operations) / 1000
    return Sample(
        value,
        (tree_cpu(registry) - before[0]) / ops,
        (tree_cpu(index) - before[1]) / ops if mode == "token" else 0.0,
        drained,
    )


def run_round(
    stack: Stack,
    plan: Plan,
    image: Image,
    manifests: dict[str, bytes],
    first: str,
    record: Callable[[str, str, Sample], None],
) -> None:
    """Every figure once per mode, ``first`` mode first; one fresh token for the round."""
    token = challenge_token(stack.registries["token"].port, "HEAD", MANIFEST_PATH)
    auth = {"none": {}, "token": {"Authorization": f"Bearer {token}"}}
    order = (first, *[m for m in MODES if m != first])
    for mode in MODES:  # untimed warm-up: connections, page cache, the verification cache
        image.pull(stack.registries[mode].port, auth[mode], 16, manifests[mode])
    figures: list[tuple[str, Callable[[str], tuple[float, int]]]] = []
    for level in plan.levels:

        def pull(mode: str, level: int = level) -> tuple[float, int]:
            return pull_rate(
                image, stack.registries[mode].port, auth[mode], level, plan.seconds, manifests[mode]
            )

        figures.append((f"image pull {len(image.layers)} x 1 MiB c={level} (MB/s)", pull))
    for method in ("HEAD", "GET"):
        for level in plan.levels:

            def rps(mode: str, method: str = method, level: int = level) -> tuple[float, int]:
                rate = manifest_rps(
                    stack.registries[mode].port,
                    MANIFEST_PATH,
                    method,
                    level,
                    plan.seconds,
                    ACCEPT | auth[mode],
                )
                return rate, round(rate * plan.seconds)

            figures.append((f"manifest {method} c={level} (req/s)", rps))
    for figure, work in figures:
        for mode in order:
            record(figure, mode, measure(stack, mode, lambda w=work, m=mode: w(m)))


def cold_tokens(stack: Stack, plan: Plan, record: Callable[[str, str, Sample], None]) -> None:
    """Manifest HEAD with a never-used token per request: one Index verification each."""
    port = stack.registries["token"].port
    for level, count in zip(plan.levels, plan.cold_tokens, strict=True):
        tokens = index_tokens(
            f"{stack.index.url}/v2/token", REGISTRY_NAME, f"repository:{REPO}:pull", count
        )

        def work(tokens: list[str] = tokens, level: int = level) -> tuple[float, int]:
            rate = fresh_token_rps(
                port, MANIFEST_PATH, "HEAD", level, tokens, plan.cold_seconds, ACCEPT
            )
            return rate, min(len(tokens), round(rate * plan.cold_seconds))

        record(
            f"manifest HEAD, new token each c={level} (req/s)",
            "token",
            measure(stack, "token", work),
        )


# -- JWT verification: in-process rates and the cost at a real registry ---------------------

ISSUER = "wharf-index"
HMAC_SALT = "wharf.registry-token"  # the old registry token's itsdangerous salt
JWT_MODES = ("none", "remote", "local ES256", "local RS256")


class _HmacCheck:
    """The old registry check (the baseline): itsdangerous HMAC-SHA256, then the claims."""

    def __init__(self, secret: str) -> None:
        from itsdangerous import URLSafeSerializer

        self.serializer = URLSafeSerializer(
            [secret], salt=HMAC_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def __call__(self, token: str) -> Claims:
        claims = Claims.from_dict(self.serializer.loads(token))  # BadSignature if forged
        now = time.time()
        if now >= claims.expires_at + 60 or now < claims.not_before - 60:
            raise RuntimeError("expired")
        if claims.issuer != ISSUER or claims.audience != REGISTRY_NAME:
            raise RuntimeError("wrong issuer or audience")
        return claims


class _CachedIndex:
    """An Index client answering verifications (the cache serves all but the first)."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims

    def verify_token(self, token: str) -> Claims:
        return self.claims


def verification_rates(seconds: float) -> list[tuple[str, float]]:
    """Token verifications per second in one thread, each way (see the module doc)."""
    scope = [parse_scope(f"repository:{REPO}:pull")]
    now = int(time.time())
    claims = Claims(ISSUER, USER, REGISTRY_NAME, now, now, now + 3600, "jti", tuple(scope))
    hmac_check = _HmacCheck(secrets.token_hex(32))
    hmac_token = hmac_check.serializer.dumps(claims.to_dict())
    cases: list[tuple[str, Callable[[], object]]] = [
        ("old HMAC-SHA256 check (itsdangerous)", lambda: hmac_check(hmac_token))
    ]
    for algorithm in ("ES256", "RS256"):
        key = SigningKey.generate(algorithm)
        token, _ = TokenIssuer(key, ISSUER, ttl=3600).issue(USER, REGISTRY_NAME, scope)
        check = local_verification(PublishedKeys(KeySet([key.public])), ISSUER, REGISTRY_NAME, 60)
        cases.append((f"{algorithm} JWT local check", lambda c=check, t=token: c(t)))
        if algorithm == "ES256":
            index = _CachedIndex(claims)
            cached = RemoteVerification(index, REGISTRY_NAME, 3600, 60, local=check)
            cases.append(("remote mode, cache hit", lambda c=cached, t=token: c(t)))
    rates = []
    for name, work in cases:
        work()  # warm-up, and proof that the token is accepted
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(100):
                work()
            count += 100
        rates.append((name, count / (time.perf_counter() - start)))
    return rates


class JwtStack:
    """The stand-in Index and the registries of JWT_MODES; :meth:`close` stops them."""

    def __init__(self, workdir: Path) -> None:
        self.services: list[GunicornService] = []
        pythonpath = os.pathsep.join([*(str(p) for p in SOURCES), str(Path(__file__).parent)])
        self.keys = {alg: SigningKey.generate(alg) for alg in ("ES256", "RS256")}
        keydir = workdir / "index-key"
        keydir.mkdir()
        (keydir / "key.pem").write_bytes(self.keys["ES256"].private_pem())
        (keydir / "cert.pem").write_bytes(self.keys["ES256"].certificate_pem())
        index_env = {
            "BENCH_INDEX_KEYDIR": str(keydir),
            "BENCH_INDEX_ISSUER": ISSUER,
            "BENCH_INDEX_AUDIENCE": REGISTRY_NAME,
            "PYTHONPATH": pythonpath,
        }
        index = GunicornService("bench_stub_index:create_app()", index_env, "stub-index")
        self.services.append(index)
        index.start(timeout=60)
        self.registries: dict[str, GunicornService] = {}
        for mode in JWT_MODES:
            slug = mode.replace(" ", "-")
            root = workdir / f"storage-{slug}"
            root.mkdir()
            env = WHARF_SETTINGS | disk_storage(root) | {"PYTHONPATH": pythonpath}
            env["REGISTRY_AUTH"] = "none" if mode == "none" else "token"
            if mode != "none":
                env |= {
                    "REGISTRY_AUTH_TOKEN_SERVICE": REGISTRY_NAME,
                    "REGISTRY_AUTH_TOKEN_REALM": f"{index.url}/v2/token",
                    "REGISTRY_AUTH_TOKEN_ISSUER": ISSUER,
                }
            if mode == "remote":
                env |= {
                    "REGISTRY_INDEX_URL": index.url,
                    "REGISTRY_INDEX_NAME": REGISTRY_NAME,
                    "REGISTRY_INDEX_CREDENTIAL": "bench-credential",
                    "REGISTRY_NOTIFICATIONS_ENABLED": "false",
                }
            elif mode.startswith("local"):
                bundle = workdir / f"certs-{slug}.pem"
                bundle.write_bytes(KeySet([self.key(mode).public]).pem_bundle())
                env |= {
                    "REGISTRY_AUTH_TOKEN_VERIFY": "local",
                    "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": str(bundle),
                }
            service = GunicornService(
                "wharf_registry.wsgi:app",
                env,
                f"registry-{slug}",
                workers=2,
                threads=16,
                extra_args=WHARF_GUNICORN_ARGS,
            )
            self.services.append(service)
            service.start(timeout=60)
            self.registries[mode] = service

    def key(self, mode: str) -> SigningKey:
        return self.keys["RS256" if mode.endswith("RS256") else "ES256"]

    def auth(self, mode: str, actions: str) -> dict[str, str]:
        """Headers with a token for ``mode``'s registry granting ``actions`` on REPO."""
        if mode == "none":
            return {}
        scope = [parse_scope(f"repository:{REPO}:{actions}")]
        token, _ = TokenIssuer(self.key(mode), ISSUER, ttl=3600).issue(USER, REGISTRY_NAME, scope)
        return {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        for service in reversed(self.services):
            service.close()


def jwt_part(plan: Plan, workdir: Path) -> None:
    """Verification rates, then manifest GET at the four registries; print both tables."""
    print("== JWT verification in-process, one thread", flush=True)
    rates = verification_rates(max(1.0, plan.seconds))
    baseline = rates[0][1]
    print(f"\n{'check':<40}{'verifications/s':>17}{'us each':>10}{'vs HMAC':>9}")
    for name, rate in rates:
        print(f"{name:<40}{rate:>17,.0f}{1e6 / rate:>10.1f}{rate / baseline:>8.2f}x")
    print("\n== manifest GET at four registries (gunicorn 2 x 16)", flush=True)
    stack = JwtStack(workdir)
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
    rounds = max(2, plan.rounds)
    ok = False
    try:
        image = Image(4)
        manifests = {
            mode: image.push(service.port, stack.auth(mode, "pull,push"))
            for mode, service in stack.registries.items()
        }
        if len(set(manifests.values())) != 1:
            raise RuntimeError("the registries serve different manifests")
        headers = {mode: ACCEPT | stack.auth(mode, "pull") for mode in JWT_MODES}
        for n in range(rounds):
            order = JWT_MODES if n % 2 == 0 else tuple(reversed(JWT_MODES))
            for level in plan.levels:
                for mode in order:
                    service = stack.registries[mode]
                    before = tree_cpu([service.pid])
                    rate = manifest_rps(
                        service.port, MANIFEST_PATH, "GET", level, plan.seconds, headers[mode]
                    )
                    cpu_ms = (tree_cpu([service.pid]) - before) * 1000 / (rate * plan.seconds)
                    samples.setdefault((mode, level), []).append((rate, cpu_ms))
                    print(f"   {mode:<12} c={level:<3}{rate:>9.1f} req/s {cpu_ms:6.2f} ms CPU")
        ok = True
    finally:
        if not ok:
            for service in stack.services:
                print(f"--- {service.name} log (tail):\n{service.log()[-2000:]}")
        stack.close()
    print_jwt_table(samples, plan.levels, rounds)


def print_jwt_table(samples, levels: tuple[int, ...], rounds: int) -> None:
    """Manifest GET per mode: req/s and ratio to none per level, CPU per request at the top."""

    def med(mode: str, level: int, i: int) -> float:
        return statistics.median(s[i] for s in samples[(mode, level)])

    top = levels[-1]
    columns = "".join(f"{f'c={level} req/s':>13}{'ratio':>7}" for level in levels)
    header = f"{'manifest GET':<14}{columns}{'CPU ms/req':>12}{'added':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for mode in JWT_MODES:
        line = f"{mode:<14}"
        for level in levels:
            line += (
                f"{med(mode, level, 0):>13.1f}{med(mode, level, 0) / med('none', level, 0):>6.2f}x"
            )
        cpu = med(mode, top, 1)
        print(f"{line}{cpu:>12.2f}{cpu - med('none', top, 1):>+8.2f}")
    print(
        f"\nMedians over {rounds} rounds. ratio: against none at the same concurrency. CPU "
        f"ms/req: the registry's CPU per request at c={top}; added: over none."
    )


# -- the table -----------------------------------------------------------------------------


def print_table(results: dict[tuple[str, str], list[Sample]]) -> None:
    """One line per figure: medians over rounds, and the median of the per-round ratios
    (each round measures both modes back to back, so its ratio shares that moment's load)
    with their range."""
    figures = list(dict.fromkeys(figure for figure, _ in results))
    width = max(len(f) for f in figures) + 2
    header = (
        f"{'figure':<{width}}{'none':>9}{'token':>9}{'ratio':>8}{'range':>13}"
        f"{'CPU ms/op: registry none':>26}{'token':>7}{'Index+PG':>10}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for figure in figures:
        token = results.get((figure, "token"), [])
        none = results.get((figure.replace(", new token each", ""), "none"), [])
        if not token or not none:
            continue
        if len(token) == len(none):
            ratios = [t.value / n.value for t, n in zip(token, none, strict=True)]
        else:  # the cold line: against plain HEAD's median
            ratios = [
                statistics.median(t.value for t in token) / statistics.median(n.value for n in none)
            ]
        med = lambda samples, f: statistics.median(f(s) for s in samples)  # noqa: E731
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
        print(
            f"{figure:<{width}}{med(none, lambda s: s.value):>9.1f}"
            f"{med(token, lambda s: s.value):>9.1f}{statistics.median(ratios):>7.2f}x"
            f"{spread:>13}{med(none, lambda s: s.registry_ms):>26.2f}"
            f"{med(token, lambda s: s.registry_ms):>7.2f}"
            f"{med(token, lambda s: s.index_ms):>10.2f}"
        )
    print(
        "\nnone, token: medians over rounds (MB/s or requests/s). ratio: token / none, the "
        "median of the per-round ratios (range: lowest-highest round). CPU ms/op: "
        "server-side CPU per image pull or per request, outbox delivery included. The cold "
        "line's none column is plain manifest HEAD. Targets: image pull >= 0.9x, manifest "
        "HEAD c=16 >= 0.8x."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, short phases (~1 min)")
    parser.add_argument("--rounds", type=int, help="override the plan's rounds")
    parser.add_argument("--seconds", type=float, help="override the seconds per figure")
    parser.add_argument(
        "--part",
        choices=("all", "jwt", "index"),
        default="all",
        help="jwt: key-based checks only (no PostgreSQL); index: the Index comparison only",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.rounds or args.seconds:
        plan = Plan(
            args.rounds or plan.rounds,
            args.seconds or plan.seconds,
            plan.cold_tokens,
            plan.cold_seconds,
        )
    print(f"plan: {plan}\nload average at start: {loadavg()} ({os.cpu_count()} CPUs)", flush=True)
    if args.part in ("all", "jwt"):
        jwt_dir = Path(tempfile.mkdtemp(prefix="wharf-token-bench-jwt-"))
        try:
            jwt_part(plan, jwt_dir)
        finally:
            shutil.rmtree(jwt_dir, ignore_errors=True)
        if args.part == "jwt":
            return 0
    image = Image(plan.layers)
    workdir = Path(tempfile.mkdtemp(prefix="wharf-token-bench-"))
    results: dict[tuple[str, str], list[Sample]] = {}

    def record(figure: str, mode: str, sample: Sample) -> None:
        results.setdefault((figure, mode), []).append(sample)
        print(
            f"   {figure:<46}{mode:>6}{sample.value:>9.1f}   CPU ms/op: registry "
            f"{sample.registry_ms:6.2f}, Index+PG {sample.index_ms:5.2f}"
            + (f"; outbox delivered {sample.drained:.1f} s later" if sample.drained > 0.1 else ""),
            flush=True,
        )

    stack = None
    ok = False
    try:
        started = time.perf_counter()
        stack = Stack(workdir)
        push_token = challenge_token(
            stack.registries["token"].port, "POST", f"/v2/{REPO}/blobs/uploads/"
        )
        manifests = {
            "none": image.push(stack.registries["none"].port, {}),
            "token": image.push(
                stack.registries["token"].port, {"Authorization": f"Bearer {push_token}"}
            ),
        }
        if manifests["none"] != manifests["token"]:
            raise RuntimeError("the two registries serve different manifests")
        settle(stack, "token")
        print(f"stack up and image pushed in {time.perf_counter() - started:.1f} s", flush=True)
        for n in range(plan.rounds):
            print(f"== round {n + 1} of {plan.rounds}", flush=True)
            run_round(stack, plan, image, manifests, MODES[n % 2], record)
        print("== cold tokens", flush=True)
        cold_tokens(stack, plan, record)
        ok = True
    finally:
        if stack is not None:
            if not ok:
                for service in stack.services:
                    print(f"--- {service.name} log (tail):\n{service.log()[-2000:]}")
            stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    print(f"\nload average at end: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
