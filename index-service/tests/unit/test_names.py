"""Namespace, robot and team names; the reserved list."""

from __future__ import annotations

import pytest
from wharf_index.domain.errors import NameInvalid, ReservedName
from wharf_index.domain.names import RESERVED, check_namespace_name, robot_username


@pytest.mark.parametrize("name", ["alice", "a", "acme-corp", "a.b", "a__b", "x1"])
def test_valid_names(name):
    assert check_namespace_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Alice",
        "-a",
        "a-",
        "a/b",
        "a b",
        "a+b",
        "é",
        "a" * 65,
        "'; DROP TABLE users; --",
        None,
        7,
    ],
)
def test_invalid_names(name):
    with pytest.raises(NameInvalid):
        check_namespace_name(name)


@pytest.mark.parametrize(
    "name", ["v1", "v2", "api", "root", "internal", "static", "login", "logout"]
)
def test_reserved_names(name):
    assert name in RESERVED
    with pytest.raises(ReservedName):
        check_namespace_name(name, allow_admin_only=True)


@pytest.mark.parametrize("name", ["library", "admin"])
def test_some_names_are_for_administrators_only(name):
    with pytest.raises(ReservedName):
        check_namespace_name(name)
    assert check_namespace_name(name, allow_admin_only=True) == name


def test_robot_usernames():
    assert robot_username("acme", "ci_bot") == "acme+ci_bot"
    for bad in ("CI", "a-b", "", "a+b"):
        with pytest.raises(NameInvalid):
            robot_username("acme", bad)
