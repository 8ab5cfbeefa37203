"""The page tests' server: the Index app over real HTTP in a thread of this process.

The browser side (chromium, axe-core checks and screenshots of every page visited) is the
harness's :mod:`wharf_testing.browser`, shared with the integration tests' browser journeys;
it is re-exported here for the page tests.
"""

from __future__ import annotations

import threading

from werkzeug.serving import make_server
from wharf_testing.browser import CHROMIUM_ARGS, SCREENSHOTS, Visits, chromium_path

__all__ = ["CHROMIUM_ARGS", "SCREENSHOTS", "Server", "Visits", "chromium_path"]


class Server:
    """The app served over real HTTP on a loopback port, in a thread of this process."""

    def __init__(self, app) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(10)
