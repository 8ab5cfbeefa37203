"""Readiness: can this process serve the registry API now? (``GET /readyz``, health.py).

Two checks, each a :class:`Check` with its own cache:

- **storage** (:func:`storage_check`): ``stat("/")`` (a filesystem root that was removed or
  unmounted fails here: the driver would otherwise recreate it), then a small object written,
  read back and compared, and deleted under ``/wharf/readyz/`` (one name per process, so
  replicas and workers never race on it). A registry that writes nothing (REGISTRY_READONLY
  with no event consumer: its storage may be a read-only mount) lists the root instead.
  Any failure makes the registry not ready (503): every request needs its storage.
- **index** (:func:`index_check`, only when the registry has an Index connection): an
  effect-free call (:meth:`wharf_protocol.client.IndexClient.ping`) that proves the Index
  answers and accepts this registry's credential. A failure is *degraded*, not unready (200):
  tokens verified before keep working until they expire and events wait in the outbox, so
  taking the registry out of service would only make things worse.

Each check runs at most once at a time per process (concurrent probes wait for the one in
progress and share its result) on a thread of its own, and its result is reused for
``ttl`` seconds. A probe waits for a running check at most ``timeout`` seconds: a hung S3
(a connection that never answers, boto's retries) makes ``/readyz`` answer 503 within that
bound rather than hang, while the check thread finishes in the background (one at a time,
so a hung backend never piles up threads). A result is cached only once its check completes.

Bodies name what failed (the check, its step, the error's type) but no addresses, paths or
messages: ``/readyz`` is unauthenticated. The log has the whole message, once per change of
state (ok -> down at WARNING, down -> ok at INFO), not once per probe.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wharf_protocol.client import IndexClient, RegistryCredentialRejected

from .storage.base import StorageDriver

logger = logging.getLogger(__name__)

PROBE_DIR = "/wharf/readyz"
TIMEOUT = 1.5  # seconds a probe waits for a check: /readyz answers within about 2 s
INDEX_TTL = 30.0  # seconds an Index check is reused: probes do not call the Index each time
INDEX_NOTE = (
    "the Index cannot be reached: tokens this registry verified before keep working until "
    "they expire, new tokens are refused, events wait in the outbox"
)
EVENTS_NOTE = "the Index cannot be reached: events wait in the outbox until it is back"


class CheckFailed(Exception):
    """A check failed at ``step``; ``reason`` is safe to show (no address, path, secret)."""

    def __init__(self, step: str, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.step, self.reason = step, reason


@dataclass(frozen=True)
class Result:
    """One check's outcome; ``body`` is what ``/readyz`` shows for it."""

    ok: bool
    body: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0


class Check:
    """Run ``probe`` at most once at a time, reuse its result for ``ttl`` s; see the module doc.

    ``probe`` returns nothing, or what the result's body shows besides ``"status": "ok"``
    (status.py's outbox counts), or raises (CheckFailed names the step; anything else is a
    failure of the step ``"check"``).
    """

    def __init__(
        self,
        name: str,
        probe: Callable[[], dict[str, Any] | None],
        ttl: float,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.probe, self.ttl, self.timeout = name, probe, ttl, timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._result: Result | None = None
        self._running: threading.Event | None = None
        self._overdue: threading.Event | None = None  # the running check already logged late
        self._step = ""
        self.runs = 0  # how many times the probe ran (tests)

    def begin(self) -> Result | threading.Event:
        """Return the cached result while fresh; else start a check unless one is running,
        and return the event set when it is done."""
        with self._lock:
            cached = self._result
            if cached is not None and self._clock() - cached.at < self.ttl:
                return cached
            if self._running is None:
                self._running = threading.Event()
                threading.Thread(
                    target=self._run,
                    args=(self._running,),
                    name=f"wharf-readyz-{self.name}",
                    daemon=True,
                ).start()
            return self._running

    def result(self, deadline: float | None = None) -> Result:
        """Return a fresh result: the cached one, or the running check's when it finishes
        before ``deadline`` (a time.monotonic() value; default ``timeout`` from now)."""
        begun = self.begin()
        if isinstance(begun, Result):
            return begun
        deadline = time.monotonic() + self.timeout if deadline is None else deadline
        if begun.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                if self._result is not None:
                    return self._result
        with self._lock:
            first = self._overdue is not begun
            self._overdue = begun
        if first:  # once per hung check, not once per probe
            logger.warning(
                "readiness: %s check has not answered within %g s (step %s)",
                self.name,
                self.timeout,
                self._step or "check",
            )
        return Result(
            False,
            {
                "status": "down",
                "step": self._step or "check",
                "error": f"no answer within {self.timeout:g} s",
            },
            self._clock(),
        )

    def _run(self, done: threading.Event) -> None:
        self.runs += 1
        try:
            found = self.probe()
        except CheckFailed as exc:
            result = Result(False, {"status": "down", "step": exc.step, "error": exc.reason})
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is a failed check, logged
            result = Result(False, {"status": "down", "step": "check", "error": _kind(exc)})
            message = f"{type(exc).__name__}: {exc}"
        else:
            result, message = Result(True, {"status": "ok", **(found or {})}), ""
        result = Result(result.ok, result.body, self._clock())
        with self._lock:
            before = self._result
            self._result, self._running = result, None
        done.set()
        self._log_change(before, result, message)

    def _log_change(self, before: Result | None, after: Result, message: str) -> None:
        if after.ok and before is not None and not before.ok:
            logger.info("readiness: %s is back", self.name)
        elif not after.ok and (before is None or before.ok or before.body != after.body):
            logger.warning(
                "readiness: %s check failed at %s: %s", self.name, after.body["step"], message
            )

    def step(self, name: str) -> None:
        """Record the step a probe is in (named in the answer if it does not finish)."""
        self._step = name


def _kind(exc: BaseException) -> str:
    """The type of the error behind ``exc`` (a StorageError wraps the backend's)."""
    cause = exc.__cause__ or exc
    return type(cause).__name__


def storage_check(
    driver: StorageDriver, step: Callable[[str], None], writes: bool = True
) -> Callable[[], None]:
    """Return the storage probe: stat the root, write, read back, delete (module doc); without
    ``writes`` (a read-only registry that writes nothing), stat and list the root."""
    path = f"{PROBE_DIR}/{uuid.uuid4().hex}.probe"

    def probe() -> None:
        payload = uuid.uuid4().hex.encode()
        steps = (
            ("stat", lambda: driver.stat("/")),
            ("write", lambda: driver.put_content(path, payload)),
            ("read", lambda: _same(driver.get_content(path), payload)),
            ("delete", lambda: driver.delete(path)),
        )
        if not writes:
            steps = (steps[0], ("list", lambda: driver.list("/", limit=1)))
        for name, action in steps:
            step(name)
            try:
                action()
            except CheckFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - StorageError and whatever a backend raises
                raise CheckFailed(name, _kind(exc), f"{type(exc).__name__}: {exc}") from exc

    return probe


def _same(read: bytes, written: bytes) -> None:
    if read != written:
        raise CheckFailed("read", "content differs", "read back other content than written")


def index_check(client: IndexClient, step: Callable[[str], None]) -> Callable[[], None]:
    """Return the Index probe: an empty events envelope (IndexClient.ping)."""

    def probe() -> None:
        step("ping")
        try:
            client.ping()
        except RegistryCredentialRejected as exc:
            raise CheckFailed("ping", "credential refused", str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - IndexUnavailable and the like
            raise CheckFailed("ping", "unreachable", f"{type(exc).__name__}: {exc}") from exc

    return probe


class Readiness:
    """The registry's readiness: storage (required) and the Index (reported when used)."""

    def __init__(
        self,
        driver: StorageDriver,
        index: IndexClient | None = None,
        *,
        ttl: float = 5.0,
        index_ttl: float = INDEX_TTL,
        timeout: float = TIMEOUT,
        token_auth: bool = False,
        writes: bool = True,
    ) -> None:
        self.storage = Check("storage", lambda: None, ttl, timeout)
        self.storage.probe = storage_check(driver, self.storage.step, writes)
        self.index: Check | None = None
        if index is not None:
            self.index = Check("index", lambda: None, index_ttl, timeout)
            self.index.probe = index_check(index, self.index.step)
        self.token_auth = token_auth

    def report(self) -> tuple[int, dict[str, Any]]:
        """Return the status code and body of ``/readyz`` (the checks run side by side and
        share one deadline)."""
        deadline = time.monotonic() + self.storage.timeout
        if self.index is not None:
            self.index.begin()
        storage = self.storage.result(deadline)
        body: dict[str, Any] = {"status": "ok", "storage": storage.body}
        if self.index is not None:
            index = self.index.result(deadline)
            body["index"] = dict(index.body)
            if not index.ok:
                body["index"]["status"] = "degraded"
                body["index"]["note"] = INDEX_NOTE if self.token_auth else EVENTS_NOTE
                body["status"] = "degraded"
        if not storage.ok:
            body["status"] = "unavailable"
            return 503, body
        return 200, body
