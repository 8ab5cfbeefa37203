"""Fixtures for the page tests: the Index app over HTTP, a browser, and a page whose
visits are screenshotted and checked with axe-core (browser.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.api.conftest import add_tag, make_repo, users  # noqa: F401 - shared fixtures

from .browser import CHROMIUM_ARGS, Server, Visits, chromium_path


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def server(app):
    served = Server(app)
    yield served
    served.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def visits(page, server, request):
    return Visits(page, server.url, request.node.name)
