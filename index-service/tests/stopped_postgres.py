"""Stop and resume a PostgreSQL cluster of the test's own (SIGSTOP / SIGCONT).

A stopped server keeps its TCP connections open: the kernel accepts connections and
acknowledges what clients send, and nothing ever answers -- a hung server, as seen from the
Index. :func:`suspended` stops only the given cluster's processes (its postmaster, then the
postmaster's children: the backends and auxiliary processes) and always resumes them.
"""

from __future__ import annotations

import contextlib
import os
import signal

from wharf_testing.postgres import PostgresServer


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                stat = fh.read()
        except OSError:
            continue  # exited meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


@contextlib.contextmanager
def suspended(server: PostgresServer):
    """SIGSTOP the cluster's postmaster and backends; SIGCONT them on the way out."""
    assert server.pid is not None
    stopped = []
    try:
        os.kill(server.pid, signal.SIGSTOP)  # first: it forks no new backend from now on
        stopped.append(server.pid)
        for pid in _children(server.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
