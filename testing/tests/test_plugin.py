"""The plugin seen from outside: a pytest run inside the test (pytester, in a subprocess)."""

import os

import pytest
import wharf_testing
from proctools import group_members

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(os.path.abspath(wharf_testing.__file__)))


@pytest.fixture
def inner(pytester, monkeypatch):
    """A pytester whose subprocess runs find wharf_testing and the tiny app."""
    paths = [SRC, HERE, os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    monkeypatch.delenv("INDEX_TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("REGISTRY_TEST_S3_ENDPOINT_URL", raising=False)
    return pytester


def run(pytester, *args):
    plugins = ("-p", "wharf_testing.plugin", "-p", "no:cacheprovider")
    return pytester.runpytest_subprocess(*plugins, *args)


def test_failing_test_shows_the_service_log(inner):
    inner.makepyfile(
        f"""
        def test_fails(service_factory):
            service_factory("tinyapp:create_app()", {{}}, "tiny", cwd={HERE!r})
            assert False, "deliberate"
        """
    )

    result = run(inner)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*wharf service tiny log*", "*Booting worker*"])


def test_passing_test_does_not_show_the_log(inner):
    inner.makepyfile(
        f"""
        def test_passes(service_factory):
            service_factory("tinyapp:create_app()", {{}}, "tiny", cwd={HERE!r})
        """
    )

    result = run(inner, "-rA")

    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*wharf service tiny log*")


def test_interrupted_session_leaves_nothing_running(inner, tmp_path):
    pids = tmp_path / "pids"
    inner.makepyfile(
        f"""
        from wharf_testing.s3 import MotoServer

        def test_interrupted(postgres, service_factory):
            moto = MotoServer().start()  # never stopped by the test: the plugin must do it
            tiny = service_factory("tinyapp:create_app()", {{}}, "tiny", cwd={HERE!r})
            with open({str(pids)!r}, "w") as fh:
                fh.write(f"{{postgres.pid}} {{moto.pid}} {{tiny.pid}}")
            raise KeyboardInterrupt
        """
    )

    result = run(inner)

    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 3
    assert [group_members(pid) for pid in started] == [[], [], []]


def test_in_process_run_keeps_the_outer_servers(pytester, postgres):
    pytester.makepyfile("def test_nothing():\n    pass\n")

    pytester.runpytest_inprocess("-p", "wharf_testing.plugin", "-p", "no:cacheprovider")

    assert postgres.execute("SELECT 1") == [(1,)]
