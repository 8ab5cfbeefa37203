"""Storage quotas: refuse what would take a namespace beyond its quota, without calling the Index.

A token granting push carries, for each namespace it may push to that has a quota, the
limit and the namespace's use when the token was issued (:mod:`wharf_protocol.policy`,
``identity.policy.quota(namespace)``). The use is what the Index recorded from this and
other registries' events: the bytes of the distinct blobs the namespace's manifests
reference (index-service README, "Storage quotas"). :func:`check_quota` is the one place a
request is refused (``403 DENIED``, ``quota exceeded: 10.2 GiB of 10 GiB used``), where and
when:

- **a blob upload's completion** (end-6 ``PUT <location>?digest=``, end-4b monolithic
  ``POST ?digest=``): once every byte arrived and the digest is verified, before the blob
  is published: refused when ``used + accepted + size > limit``; the upload session is
  deleted, nothing becomes visible;
- **a cross-repository mount** (end-11) from another namespace: the same with the mounted
  blob's size, before it is linked (a mount within the namespace adds nothing: the blob is
  counted there already, and is never refused);
- **a manifest PUT** (end-7), after it is validated, before anything is written: the
  manifest's own bytes, or nothing when the repository already holds that manifest (a new
  tag for it). The blobs it references were checked when they were uploaded; the registry
  cannot know which of them the Index already counts, so it does not count them again.

A request that adds no bytes is never refused: deletes, tags for manifests already held,
and pushes of empty blobs go through even over the limit.

``accepted`` is what *this process* accepted for the same token in the same namespace
(:class:`QuotaLedger`): many blobs pushed with one token cannot go beyond the limit by more
than one blob per process. What one token cannot see: pushes with other tokens (and other
processes or replicas) whose events have not reached the Index when it issued this one.
Two pushes whose tokens were both issued before either's events arrived can each pass, so
a namespace may go beyond its limit by up to what one token lifetime of concurrent pushes
uploads; from the next token on, its use says so and every push that adds bytes is refused
until something is deleted. Blobs uploaded earlier and referenced for the first time by a
manifest now (an interrupted push finished with a new token) are counted when the
manifest's event arrives, not at its PUT.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from wharf_protocol.names import namespace_of
from wharf_protocol.sizes import format_size

from .. import metrics
from ..auth.base import Identity
from ..events.wharf_events import record_quota_refusal

__all__ = ["QuotaExceeded", "QuotaLedger", "admission", "check_quota"]

CAPACITY = 4096  # (token, namespace) entries per process; the least recently used go first


class QuotaExceeded(Exception):
    """A push would take ``namespace`` beyond its quota (403 ``DENIED``)."""

    def __init__(self, namespace: str, limit: int, used: int, size: int) -> None:
        total = used + size
        super().__init__(
            f"quota exceeded: {format_size(total, rounding='up')}"
            f" of {format_size(limit, rounding='down')} used"
        )
        self.namespace, self.limit, self.used, self.size = namespace, limit, used, size


class QuotaLedger:
    """Bytes this process accepted per (token, namespace): bounded, thread-safe.

    An entry outlives its token harmlessly (an expired token is never accepted again) and
    goes when ``capacity`` newer ones came; an entry dropped while its token is still in
    use only makes the check as lenient as the token alone.
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._accepted: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str], used: int, limit: int, size: int) -> None:
        """Count ``size`` more bytes for ``key`` = (token, namespace); QuotaExceeded
        instead when ``size`` > 0 and ``used`` + what was counted + ``size`` > ``limit``.
        One lock: two threads of one token cannot both take the last bytes."""
        with self._lock:
            before = self._accepted.get(key, 0)
            if size > 0 and used + before + size > limit:
                raise QuotaExceeded(key[1], limit, used + before, size)
            self._accepted[key] = before + size
            self._accepted.move_to_end(key)
            while len(self._accepted) > self._capacity:
                self._accepted.popitem(last=False)

    def accepted(self, key: tuple[str, str]) -> int:
        with self._lock:
            return self._accepted.get(key, 0)


def check_quota(ledger: QuotaLedger, identity: Identity, name: str, size: int) -> None:
    """Admit ``size`` new bytes into repository ``name`` for ``identity``, or raise
    :class:`QuotaExceeded`: the one place the registry refuses a push for its quota (see
    the module doc). Without a quota for the namespace in the token, nothing is checked or
    counted."""
    namespace = namespace_of(name)
    quota = identity.policy.quota(namespace)
    if quota is None:
        return
    token = getattr(identity, "token_id", "") or f"subject:{identity.name}"
    try:
        ledger.take((token, namespace), quota.used, quota.limit, size)
    except QuotaExceeded as refused:
        metrics.quota_refused(namespace)
        record_quota_refusal(name, identity.name, str(refused))  # the Index's audit log
        raise


def admission(
    ledger: QuotaLedger, identity: Identity | None, name: str
) -> Callable[[int], None] | None:
    """The check the content stores call with a push's new bytes (None: no quota here)."""
    if identity is None or identity.policy.quota(namespace_of(name)) is None:
        return None
    return lambda size: check_quota(ledger, identity, name, size)
