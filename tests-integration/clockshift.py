"""Run a Python module with its wall clock shifted.

``python clockshift.py SECONDS PYTHON -m MODULE ARGS...``

Used as a command prefix (see ``stack.clock_prefix``) so that a service under gunicorn sees
a clock ``SECONDS`` ahead (positive) or behind (negative) the other hosts', as a host with
a drifting clock would: ``time.time``, ``time.time_ns`` and ``datetime.datetime.now`` /
``utcnow`` are shifted before anything else is imported; forked workers inherit it. Monotonic
clocks stay untouched (timeouts keep working).

Why not libfaketime: with libfaketime 0.9.10 (Debian bookworm) Python's timed lock waits
(``threading.Event.wait``, ``Lock.acquire(timeout=)``) hang unless monotonic clocks are left
alone, and with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` ``time.sleep`` fails with EINVAL.
"""

import datetime
import runpy
import sys
import time

_offset = float(sys.argv[1])
_time, _time_ns = time.time, time.time_ns


def _shifted_time() -> float:
    return _time() + _offset


def _shifted_time_ns() -> int:
    return _time_ns() + int(_offset * 1e9)


class _ShiftedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.datetime.fromtimestamp(_shifted_time(), tz)

    @classmethod
    def utcnow(cls):
        return datetime.datetime.fromtimestamp(_shifted_time(), datetime.UTC).replace(tzinfo=None)


time.time, time.time_ns = _shifted_time, _shifted_time_ns
datetime.datetime = _ShiftedDatetime

# argv: clockshift.py SECONDS PYTHON -m MODULE ARGS...
if sys.argv[3:4] != ["-m"] or len(sys.argv) < 5:
    raise SystemExit("usage: clockshift.py SECONDS PYTHON -m MODULE [ARGS...]")
module = sys.argv[4]
sys.argv = [module, *sys.argv[5:]]
sys.path.pop(0)  # this script's directory: not the service's business
runpy.run_module(module, run_name="__main__", alter_sys=True)
