"""``registry add/update --weight/--upstream`` and ``route set|list|remove`` (cli_routes.py)."""

from __future__ import annotations

import pytest
from wharf_index.services import registries


def _add(run, name, *extra):
    return run("registry", "add", name, "--url", f"https://{name}", *extra)


def test_weights_and_upstreams(run, uow, sql):
    assert _add(run, "a.test", "--kind", "private", "--weight", "3").code == 0
    added = _add(run, "m.test", "--kind", "mirror", "--upstream", "a.test", "--namespace", "acme")
    assert added.code == 0
    listed = run("registry", "list").out.splitlines()
    assert listed == [
        "a.test\tprivate\thttps://a.test\t-\tauto:unfiltered\t3\t-",
        "m.test\tmirror\thttps://m.test\tacme\tauto:unfiltered\t1\ta.test",
    ]
    updated = run("registry", "update", "m.test", "--weight", "0")
    assert updated.out.strip() == (
        "registry m.test: kind mirror, catalog auto:unfiltered, weight 0, upstream a.test"
    )
    cleared = run("registry", "update", "m.test", "--no-upstream")
    assert cleared.out.strip().endswith("weight 0, upstream -")
    assert registries.get_registry(uow, "m.test").upstream is None
    assert sql("SELECT action, detail->>'upstream' FROM audit_log ORDER BY id DESC LIMIT 1") == [
        ("registry.update", None)
    ]
    # Readable refusals: not a mirror, unknown upstream, a cycle, nothing to change.
    for argv, words in (
        (("registry", "update", "a.test", "--upstream", "m.test"), "kind mirror"),
        (("registry", "update", "m.test", "--upstream", "nowhere"), "no registry named nowhere"),
        (("registry", "update", "m.test"), "give kind, catalog, weight and/or upstream"),
    ):
        failed = run(*argv)
        assert failed.code == 1 and words in failed.err, (argv, failed.err)
    assert (
        _add(run, "n.test", "--kind", "mirror", "--upstream", "m.test", "--namespace", "acme").code
        == 0
    )
    assert run("registry", "update", "m.test", "--upstream", "m.test").code == 1
    looped = run("registry", "update", "m.test", "--upstream", "n.test")
    assert looped.code == 1 and "cycle" in looped.err
    for bad in ("101", "-1", "x"):
        with pytest.raises(SystemExit):  # argparse: a usage error naming the range
            run("registry", "update", "m.test", "--weight", bad)
    with pytest.raises(SystemExit):
        run("registry", "update", "m.test", "--upstream", "a.test", "--no-upstream")


def test_routes(run, sql):
    assert _add(run, "a.test", "--kind", "private").code == 0
    assert _add(run, "b.test", "--kind", "private", "--namespace", "acme").code == 0
    assert _add(run, "c.test", "--kind", "private", "--namespace", "bob").code == 0
    assert run("route", "list").out == ""
    chosen = run("route", "set", "acme", "b.test", "a.test")
    assert (chosen.code, chosen.out.strip()) == (0, "route acme: b.test, a.test")
    assert run("route", "set", "zeta", "a.test").code == 0
    assert run("route", "list").out.splitlines() == ["acme\tb.test,a.test", "zeta\ta.test"]
    refused = run("route", "set", "acme", "c.test")
    assert refused.code == 1 and "c.test does not serve acme" in refused.err
    assert run("route", "list").out.splitlines()[0] == "acme\tb.test,a.test"  # unchanged
    assert run("route", "set", "Bad!", "a.test").code == 1
    removed = run("route", "remove", "acme")
    assert (removed.code, removed.out.strip()) == (0, "route acme removed")
    assert run("route", "list").out.splitlines() == ["zeta\ta.test"]
    # Removing a registry takes it out of every route.
    assert run("registry", "remove", "a.test").code == 0
    assert run("route", "list").out == ""
    assert sql("SELECT count(*) FROM audit_log WHERE action = 'route.set'") == [
        (3,)
    ]  # not refusals
