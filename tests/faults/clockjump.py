"""``python -m tests.faults.clockjump ARGS``: ``landlord ARGS`` with a wall clock a drill can step.

The offset (seconds, may be negative) is read from the file named by
``LANDLORD_DRILL_CLOCK_FILE`` at start and on each SIGUSR1: ``time.time`` and
``datetime.datetime.now`` (all the wall clock Landlord reads) move by it at
once, as after ``date -s`` or an NTP step; the monotonic clock does not, as on
a real machine. Only this process is affected — the control plane's clocks and
the machine's stay right, which a step of the machine's own clock would not
allow on a shared test machine.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import pathlib
import runpy
import signal
import sys
import time
from typing import Any

_REAL_DATETIME = datetime.datetime
_real_time, _real_time_ns = time.time, time.time_ns
_offset = [0.0]


def _read(*_: object) -> None:
    with contextlib.suppress(KeyError, OSError, ValueError):
        _offset[0] = float(pathlib.Path(os.environ["LANDLORD_DRILL_CLOCK_FILE"]).read_text() or 0)


class _AnyDatetime(type):
    """``isinstance(x, datetime.datetime)`` stays true of datetimes made elsewhere (C code)."""

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _REAL_DATETIME)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _REAL_DATETIME)


class _SteppedDatetime(_REAL_DATETIME, metaclass=_AnyDatetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return _REAL_DATETIME.now(tz) + datetime.timedelta(seconds=_offset[0])

    @classmethod
    def utcnow(cls) -> Any:
        return _REAL_DATETIME.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
            seconds=_offset[0]
        )


def main() -> None:
    _read()
    signal.signal(signal.SIGUSR1, _read)
    time.time = lambda: _real_time() + _offset[0]
    time.time_ns = lambda: _real_time_ns() + int(_offset[0] * 1e9)
    datetime.datetime = _SteppedDatetime  # type: ignore[misc]
    sys.argv = ["landlord", *sys.argv[1:]]
    runpy.run_module("landlord", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
