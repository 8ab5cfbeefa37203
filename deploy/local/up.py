"""Entry point of ``./deploy/local/up`` (see wharf_local/cli.py for the flow)."""

import sys

from wharf_local.cli import main

if __name__ == "__main__":
    sys.exit(main())
