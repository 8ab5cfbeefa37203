"""token_policy._quotas: the quota lookup runs only for tokens granting push (the other
parts of the policy are other functions' business: only this one is called)."""

from __future__ import annotations

from types import SimpleNamespace

from wharf_index.domain.records import QuotaState
from wharf_index.services import token_policy
from wharf_index.services.config import ServiceConfig
from wharf_protocol.policy import NamespaceQuota
from wharf_protocol.scopes import Scope


class Checks:
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def quotas(self, namespaces: list[str]) -> list[QuotaState]:
        self.asked.append(namespaces)
        return [
            QuotaState("acme", True, 100, 40),
            QuotaState("alice", False, None, 7),
            QuotaState("bob", True, None, 9),
        ][: len(namespaces)]


def _uow(default=None):
    return SimpleNamespace(
        token_checks=Checks(), config=ServiceConfig(default_namespace_quota=default)
    )


def scope(name, *actions):
    return Scope("repository", name, frozenset(actions))


def test_pull_tokens_never_ask():
    uow = _uow(default=10)
    granted = (scope("acme/app", "pull"), scope("alice/app", "pull", "delete"))
    assert token_policy._quotas(uow, granted) == {}
    assert uow.token_checks.asked == []


def test_push_asks_once_for_every_namespace_pushed_to():
    uow = _uow()
    granted = (
        scope("acme/app", "pull", "push"),
        scope("acme/tool", "push"),
        scope("alice/x", "push"),
        scope("bob/x", "pull"),
        Scope("registry", "catalog", frozenset({"*"})),
    )
    quotas = token_policy._quotas(uow, granted)
    assert uow.token_checks.asked == [["acme", "alice"]]
    assert dict(quotas) == {"acme": NamespaceQuota(100, 40)}  # alice: no limit, no default


def test_the_default_fills_namespaces_without_a_choice_of_their_own():
    uow = _uow(default=50)
    granted = (scope("acme/a", "push"), scope("alice/a", "push"), scope("bob/a", "push"))
    quotas = token_policy._quotas(uow, granted)
    # acme chose 100; alice chose nothing (the default); bob chose none at all
    assert dict(quotas) == {"acme": NamespaceQuota(100, 40), "alice": NamespaceQuota(50, 7)}
