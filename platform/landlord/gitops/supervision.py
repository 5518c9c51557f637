"""A child process read without trusting it: capped stdout, a stderr tail, a watchdog.

:class:`Supervised` watches a started child: its stdout through a
:class:`CappedReader` that stops at a cap, only the last 16 KiB of its stderr,
and a wall-time watchdog that kills its process group. :func:`collect` is what
``communicate`` does, bounded; :func:`excerpt` is the most of a tool's own words
that may reach a status message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import threading
from typing import IO

STDERR_CAP = 16 * 1024
READ_CHUNK = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Collected:
    """What :func:`collect` read of a child: capped stdout, the tail of stderr, why it stopped."""

    returncode: int
    stdout: bytes
    stderr: str
    timed_out: bool
    over: bool


def collect(process: subprocess.Popen[bytes], *, timeout: float, stdout_cap: int) -> Collected:
    """Read a started child to its end, bounded: what ``communicate`` does, without trust.

    stdout is kept up to ``stdout_cap`` bytes, stderr only as its last 16 KiB;
    the child's process group is killed when it runs past ``timeout`` or writes
    past the cap. For processes that talk to a server a tenant controls.
    """
    watch = Supervised(process, timeout, stdout_cap)
    try:
        stdout = watch.reader.read()
    except BaseException:
        watch.finish(kill=True)
        raise
    watch.finish(kill=False)
    return Collected(
        process.returncode, stdout, watch.tail.text(), watch.timed_out.is_set(), watch.reader.over
    )


class Supervised:
    """A started child under watch: a capped stdout, a stderr tail, a wall-time watchdog."""

    def __init__(self, process: subprocess.Popen[bytes], seconds: float, stdout_cap: int) -> None:
        assert process.stdout is not None
        assert process.stderr is not None
        self.process = process
        self.reader = CappedReader(process.stdout, stdout_cap)
        self.tail = _Tail(process.stderr)
        self.tail.start()
        self.timed_out = threading.Event()
        self.watchdog = threading.Timer(seconds, self._expire)
        self.watchdog.daemon = True
        self.watchdog.start()

    def _expire(self) -> None:
        self.timed_out.set()
        _kill(self.process)

    def finish(self, *, kill: bool) -> None:
        """Kill the child (or let it finish writing, within the cap), reap it, close its pipes."""
        if kill or self.reader.over:
            _kill(self.process)
        else:
            self.reader.drain()
        self.process.wait()
        self.watchdog.cancel()
        self.tail.join(timeout=5)
        self.reader.raw.close()
        self.tail.raw.close()


class CappedReader:
    """A file-like view of a child's stdout that stops at ``cap`` bytes."""

    def __init__(self, raw: IO[bytes], cap: int) -> None:
        self.raw = raw
        self.cap = cap
        self.count = 0
        self.over = False

    def read(self, size: int = -1) -> bytes:
        if self.over:
            return b""
        want = self.cap + 1 - self.count
        if size >= 0:
            want = min(want, size)
        data = self.raw.read(want) if size >= 0 else _read_all(self.raw, want)
        self.count += len(data)
        if self.count > self.cap:
            self.over = True
            return b""
        return data

    def drain(self) -> None:
        """Read what is left (within the cap) so the child can finish writing."""
        while not self.over and self.read(READ_CHUNK):
            pass


def _read_all(raw: IO[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    left = limit
    while left > 0:
        chunk = raw.read(min(READ_CHUNK, left))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


class _Tail(threading.Thread):
    """Reads a stream to its end, keeping only the last ``STDERR_CAP`` bytes."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.raw = raw
        self.buffer = b""

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: self.raw.read(4096), b""):
                self.buffer = (self.buffer + chunk)[-STDERR_CAP:]

    def text(self) -> str:
        return self.buffer.decode(errors="replace")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group, unless its leader was already reaped (its id may be reused)."""
    if process.poll() is not None:
        return  # an unreaped leader keeps its group id ours; a reaped one does not
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 9)


# At most this much of a tool's own message reaches a status condition.
EXCERPT_CHARS = 300


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable excerpt of a tool's error output for a status message.

    Only the last non-empty line (tools put the reason there), with control
    characters removed and cut to ``limit`` characters: never a file's bytes.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no message"
    printable = "".join(c if c.isprintable() else "?" for c in last)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"
