"""A gunicorn entry point for test_pull_counts: the registry over a filesystem driver whose
outbox writes wait while a gate file exists.

``WHARF_TEST_OUTBOX_GATE``: the gate file's path. While it exists, ``put_content`` of an
outbox object first creates ``<gate>.waiting`` (so the test knows a write is held) and then
waits, at most 60 s, for the gate to go. Everything else is ``wharf_registry.wsgi``.
"""

from __future__ import annotations

import os
import time

from wharf_registry.app import create_app
from wharf_registry.logconfig import configure_logging
from wharf_registry.settings import Settings
from wharf_registry.storage import FilesystemDriver

GATE = os.environ["WHARF_TEST_OUTBOX_GATE"]


class GatedDriver(FilesystemDriver):
    def _put_content(self, path: str, content: bytes) -> None:
        if path.startswith("/wharf/outbox/") and os.path.exists(GATE):
            with open(f"{GATE}.waiting", "w"):
                pass
            deadline = time.monotonic() + 60
            while os.path.exists(GATE) and time.monotonic() < deadline:
                time.sleep(0.01)
        super()._put_content(path, content)


settings = Settings.from_env()
configure_logging(settings.log_level, settings.log_format)
app = create_app(settings, driver=GatedDriver(settings.storage_params["rootdirectory"]))
