"""wharf_protocol.metrics: the multiprocess directory, the scrape token, the exposition."""

from __future__ import annotations

import os
import tempfile

from wharf_protocol import metrics


def test_a_directory_is_made_when_none_is_set(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    env: dict[str, str] = {}
    path, owned = metrics.prepare_directory(env)
    assert owned and env[metrics.ENV] == path
    assert path.startswith(str(tmp_path))


def test_an_operators_directory_is_emptied_of_samples_and_kept(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"old")
    (directory / "README").write_text("mine")
    path, owned = metrics.prepare_directory({metrics.ENV: str(directory)})
    assert (path, owned) == (str(directory), False)
    assert sorted(p.name for p in directory.iterdir()) == ["README"]


def test_a_missing_operators_directory_is_created(tmp_path):
    directory = tmp_path / "a" / "b"
    metrics.prepare_directory({metrics.ENV: str(directory)})
    assert directory.is_dir()


def test_the_token_is_required_only_when_set():
    assert metrics.authorized(None, None)
    assert metrics.authorized("Bearer anything", "")
    assert metrics.authorized("Bearer s3cret", "s3cret")
    assert metrics.authorized("bearer  s3cret", "s3cret")
    assert not metrics.authorized(None, "s3cret")
    assert not metrics.authorized("Bearer s3cre", "s3cret")
    assert not metrics.authorized("Basic s3cret", "s3cret")


def test_the_on_exit_hook_removes_only_the_directory_it_made(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(metrics.ENV, raising=False)
    hooks = metrics.gunicorn_hooks()
    hooks["on_starting"](None)
    made = os.environ[metrics.ENV]
    assert os.path.isdir(made)
    hooks["on_exit"](None)
    assert not os.path.exists(made)


class _Family:
    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily("wharf_test_gauge", "a gauge computed at scrape", value=7)


def test_the_exposition_adds_scrape_time_collectors(monkeypatch):
    monkeypatch.delenv(metrics.ENV, raising=False)
    body, content_type = metrics.exposition([_Family()])
    assert content_type.startswith("text/plain")
    assert b"wharf_test_gauge 7.0" in body
    body, content_type = metrics.exposition([_Family()], "application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
