"""domain/pull_limits.py: fixed windows and the subjects pulls are counted for."""

from __future__ import annotations

import pytest
from wharf_index.domain.pull_limits import PullLimits, Rate, address_subject


def test_windows_are_fixed_multiples_of_their_length():
    rate = Rate(100, 21600)
    assert rate.window_start(21600 * 5) == 21600 * 5
    assert rate.window_start(21600 * 5 + 21599.9) == 21600 * 5
    assert rate.window_start(21600 * 6) == 21600 * 6


@pytest.mark.parametrize(
    ("address", "subject"),
    [
        ("203.0.113.7", "addr:203.0.113.7"),
        ("203.0.113.7:50312", "addr:203.0.113.7"),
        ("::ffff:203.0.113.7", "addr:203.0.113.7"),
        ("2001:db8:1:2::10", "addr:2001:db8:1:2::/64"),
        ("[2001:DB8:1:2:aaaa::1]:443", "addr:2001:db8:1:2::/64"),
        ("fe80::1%eth0", "addr:fe80::/64"),
        ("unix-socket", "addr:unix-socket"),
        ("", None),
        ("  ", None),
    ],
)
def test_anonymous_subjects_are_client_addresses_and_ipv6_networks(address, subject):
    assert address_subject(address) == subject


def test_who_is_limited():
    limits = PullLimits(Rate(3, 60), None, frozenset({"bob"}))
    assert limits.on
    assert limits.for_address("10.0.0.1") == ("addr:10.0.0.1", Rate(3, 60))
    assert limits.for_account("alice") is None  # no limit for users
    both = PullLimits(Rate(3, 60), Rate(5, 60), frozenset({"bob"}))
    assert both.for_account("alice") == ("user:alice", Rate(5, 60))
    assert both.for_account("bob") is None and both.for_account("") is None
    assert both.for_address("") is None
    assert not PullLimits().on
