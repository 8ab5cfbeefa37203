import ipaddress

import pytest
from wharf_index.domain.webhook_targets import address_allowed, parse_networks, url_problem


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "fe80::1",
        "fd00:ec2::254",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "::",
        "224.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "255.255.255.255",
    ],
)
def test_inside_addresses_are_refused(address):
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_global_addresses_are_allowed(address):
    assert address_allowed(address)


def test_allowed_networks_let_chosen_inside_addresses_through():
    allowed = parse_networks("127.0.0.0/8, 10.0.0.0/8")
    assert address_allowed("127.0.0.1", allowed)
    assert address_allowed("10.9.9.9", allowed)
    assert not address_allowed("192.168.1.1", allowed)
    assert not address_allowed("::1", allowed)


def test_a_bad_network_is_named():
    with pytest.raises(ValueError, match="'nope'"):
        parse_networks("10.0.0.0/8,nope")
    assert parse_networks(" ") == ()
    assert parse_networks("10.1.2.3/8") == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    "url, problem",
    [
        ("ftp://example.com/", "http or https"),
        ("https:///path", "no host"),
        ("https://user:pw@example.com/", "user name"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://api.localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "loopback"),
        ("http://example.com:99999/", "not a URL"),
        ("https://example.com/" + "a" * 2048, "longer than"),
    ],
)
def test_bad_urls_are_named(url, problem):
    assert problem in url_problem(url)


def test_good_urls_pass_and_names_wait_for_delivery():
    assert url_problem("https://ci.example.com/hooks/wharf?x=1") is None
    assert url_problem("http://93.184.216.34/") is None
    assert url_problem("http://127.0.0.1:9/", parse_networks("127.0.0.0/8")) is None
