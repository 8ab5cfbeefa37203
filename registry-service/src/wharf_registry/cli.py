"""The ``wharf-registry`` command: ``wharf-registry serve [--bind HOST:PORT] ...``.

``serve`` checks the configuration first (``Settings.from_env``) so that a bad variable stops
start-up with one message naming it (exit status 2, no traceback), then replaces itself with
gunicorn (gthread workers, settings in :mod:`wharf_registry.gunicorn_conf`) serving
``wharf_registry.wsgi:app``. The process id stays the same, so a supervisor that started
``wharf-registry serve`` signals gunicorn's master directly (SIGTERM: graceful stop).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from wharf_protocol import version_line

from . import gunicorn_conf
from .settings import ConfigError, Settings

APP = "wharf_registry.wsgi:app"
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="wharf-registry", description="The Wharf Registry.")
    parser.add_argument("--version", action="version", version=version_line("wharf-registry"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the registry API under gunicorn")
    serve.add_argument(
        "--bind",
        metavar="HOST:PORT",
        help="address to listen on (default: REGISTRY_HTTP_ADDR or 0.0.0.0:5000)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=gunicorn_conf.DEFAULT_WORKERS,
        metavar="N",
        help="worker processes (default: %(default)s)",
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        default=gunicorn_conf.DEFAULT_THREADS,
        metavar="N",
        help="threads per worker (default: %(default)s)",
    )
    serve.add_argument(
        "--timeout",
        type=_positive,
        default=gunicorn_conf.DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="restart a worker silent for this long (default: %(default)s)",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def gunicorn_argv(args: argparse.Namespace, settings: Settings) -> list[str]:
    """Return the gunicorn command line for ``serve`` (run with this interpreter)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:wharf_registry.gunicorn_conf",
        "--bind",
        args.bind or settings.http_addr,
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--timeout",
        str(args.timeout),
        APP,
    ]


def serve(args: argparse.Namespace) -> int:
    """Validate the settings, then exec gunicorn; return 2 on a configuration error."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"wharf-registry: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    argv = gunicorn_argv(args, settings)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606 - replace this process with gunicorn, same pid
    return 0  # pragma: no cover - execv does not return


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wharf-registry`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
