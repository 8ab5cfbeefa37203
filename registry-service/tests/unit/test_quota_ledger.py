"""api/quota.py: the per-token count of accepted bytes and the refusal's wording."""

from __future__ import annotations

import threading

import pytest
from wharf_protocol.policy import NamespaceQuota, Policy
from wharf_registry.api.quota import QuotaExceeded, QuotaLedger, admission, check_quota
from wharf_registry.auth.base import Identity
from wharf_registry.auth.token import TokenIdentity


def identity(jti: str = "t1", limit: int = 100, used: int = 0) -> TokenIdentity:
    policy = Policy(quotas={"team": NamespaceQuota(limit, used)})
    return TokenIdentity(name="alice", policy=policy, token_id=jti)


def test_threads_of_one_token_never_take_more_than_the_limit():
    ledger, who = QuotaLedger(), identity(limit=1000)
    taken, refused = [], []

    def push():
        for _ in range(50):
            try:
                check_quota(ledger, who, "team/app", 7)
                taken.append(7)
            except QuotaExceeded:
                refused.append(7)

    threads = [threading.Thread(target=push) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 994 and len(taken) + len(refused) == 400  # 142 blobs of 7 fit


def test_tokens_and_namespaces_count_apart():
    ledger = QuotaLedger()
    check_quota(ledger, identity("t1"), "team/app", 100)
    with pytest.raises(QuotaExceeded):
        check_quota(ledger, identity("t1"), "team/tool", 1)
    check_quota(ledger, identity("t2"), "team/app", 100)  # another token, its own count
    check_quota(ledger, identity("t1"), "other/app", 10**9)  # no quota there


def test_nothing_added_is_never_refused_and_no_quota_is_never_checked():
    ledger = QuotaLedger()
    check_quota(ledger, identity(used=500), "team/app", 0)
    assert admission(ledger, Identity(name="root"), "team/app") is None  # htpasswd, none
    assert admission(ledger, None, "team/app") is None
    assert admission(ledger, identity(), "elsewhere/app") is None


def test_the_ledger_forgets_the_least_recently_used_beyond_its_capacity():
    ledger = QuotaLedger(capacity=2)
    for token in ("a", "b", "c"):
        check_quota(ledger, identity(token), "team/app", 60)
    assert ledger.accepted(("a", "team")) == 0  # forgotten: as strict as its token alone
    assert ledger.accepted(("c", "team")) == 60


@pytest.mark.parametrize(
    ("limit", "used", "size", "message"),
    [
        (10 << 30, (10 << 30) - 1, 2, "quota exceeded: 10.1 GiB of 10 GiB used"),
        (10 << 30, int(10.2 * (1 << 30)), 0, None),
        (100, 100, 1, "quota exceeded: 101 B of 100 B used"),
        ((1 << 30) - 1, 0, 1 << 30, "quota exceeded: 1 GiB of 1023.9 MiB used"),
    ],
)
def test_the_message(limit, used, size, message):
    ledger = QuotaLedger()
    if message is None:
        check_quota(ledger, identity(limit=limit, used=used), "team/app", size)
        return
    with pytest.raises(QuotaExceeded) as refused:
        check_quota(ledger, identity(limit=limit, used=used), "team/app", size)
    assert str(refused.value) == message
