"""Small helpers for tests against the real control plane."""

from __future__ import annotations

import io
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as error:  # noqa: BLE001 - keep polling, report the last one
            last_error = error
        else:
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last error: {last_error}")


class Zeros(io.RawIOBase):
    """``size`` zero bytes, read without ever holding them (a huge file for a tar)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def landlord(
    kubeconfig: pathlib.Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: a process against ``kubeconfig``, its output piped.

    A process, not click's CliRunner: the Kubernetes client reads KUBECONFIG once, at
    import, and the exit codes are those of ``main()``. The test process's own
    ``LANDLORD_*`` settings are left out, so the CLI runs on its defaults plus ``env``.
    """
    return subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("LANDLORD_")},
            "KUBECONFIG": str(kubeconfig),
            **(env or {}),
        },
        timeout=timeout,
        check=False,
    )
