"""The build sandbox is made from ``LANDLORD_SANDBOX__*`` in one place (operator and check)."""

from __future__ import annotations

import pathlib

from landlord.gitops import sandbox
from landlord.settings import SandboxSettings


def test_from_settings_carries_mode_binary_and_limits() -> None:
    config = SandboxSettings(
        mode="unconfined",
        bwrap=pathlib.Path("/opt/bwrap"),
        wall_seconds=5.0,
        cpu_seconds=7,
        memory_bytes=128 * 1024**2,
        output_bytes=4096,
    )

    built = sandbox.from_settings(config)

    assert built.mode == "unconfined"
    assert built.bwrap == pathlib.Path("/opt/bwrap")
    assert (built.limits.wall_seconds, built.limits.cpu_seconds) == (5.0, 7)
    assert (built.limits.memory_bytes, built.limits.output_bytes) == (128 * 1024**2, 4096)
