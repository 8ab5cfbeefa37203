"""A real browser for page tests: Debian's chromium driven by Playwright, axe-core checks on
every page visited, and a screenshot of every page visited.

Used by the Index's page tests (``index-service/tests/web``) and by the browser journeys of
the integration tests (``tests-integration/test_web_journeys.py``); it needs the ``browser``
extra (``pip install -e testing[browser]``: Playwright and axe-playwright-python).

Playwright cannot download its own browser here, so it launches the system's chromium
(``WHARF_TEST_CHROMIUM`` or ``/usr/bin/chromium``) with ``executable_path``. Screenshots go to
``test-artifacts/screenshots/<test name>/NN-<page>.png`` at the checkout's root
(``WHARF_TEST_SCREENSHOTS`` overrides the folder).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = Path(
    os.environ.get("WHARF_TEST_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots")
)
# Flags for a machine with no network: no background connections, no first-run work.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOCKING = ("serious", "critical")
_AXE = Axe()


def chromium_path() -> str:
    """The system chromium; a clear failure when it is not installed."""
    path = os.environ.get("WHARF_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError(
            "the page tests need Debian's chromium (apt-get install chromium)"
            " or WHARF_TEST_CHROMIUM naming a chromium binary"
        )
    return path


class Visits:
    """Every page a test visits: screenshot it and check it with axe-core."""

    def __init__(self, page, base_url: str, test_name: str, person: str | None = None) -> None:
        """Screenshots go to ``SCREENSHOTS/<test_name>/`` (emptied first), or to
        ``SCREENSHOTS/<test_name>/<person>/`` when several people browse in one test."""
        self.page, self.base_url = page, base_url
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        if person is not None:
            self.folder = self.folder / re.sub(r"[^A-Za-z0-9_.-]+", "_", person)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.count = 0

    def go(self, path: str):
        """Open ``path``; check and record the page; return the response."""
        response = self.page.goto(self.base_url + path)
        self.check()
        return response

    def check(self, name: str | None = None) -> None:
        """Screenshot the current page and fail on serious or critical axe violations."""
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        label = name or re.sub(r"[^A-Za-z0-9]+", "-", self.page.url.split("/", 3)[-1])[:60]
        self._screenshot(self.folder / f"{self.count:02d}-{label or 'home'}.png")
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in _AXE.run(self.page).response["violations"]
            if v.get("impact") in BLOCKING
        ]
        assert not violations, f"{self.page.url}: " + "; ".join(violations)

    def _screenshot(self, path: Path) -> None:
        # Chromium sometimes answers "Unable to capture screenshot" on a loaded machine
        # while it composites; a second try after a pause gets it.
        for attempt in range(3):
            try:
                self.page.screenshot(path=str(path), full_page=True)
                return
            except PlaywrightError:
                if attempt == 2:
                    raise
                self.page.wait_for_timeout(500)
