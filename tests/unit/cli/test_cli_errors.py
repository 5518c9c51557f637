"""The CLI turns Landlord errors into a message, a hint and exit code 1 — no traceback."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys


def _landlord(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "landlord", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = _landlord("--version")
    assert result.returncode == 0
    assert "landlord, version" in result.stdout


def test_status_without_a_control_plane(tmp_path: pathlib.Path) -> None:
    result = _landlord("cluster", "status", "--state-dir", str(tmp_path / "none"))

    assert result.returncode == 1
    assert "no control plane recorded" in result.stderr  # stdout stays data for scripts
    assert result.stdout == ""


def test_a_failing_component_is_reported_with_its_log(tmp_path: pathlib.Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        script = assets / name
        script.write_text(
            "#!/bin/sh\necho 'fatal: data dir is locked by another etcd' >&2\nexit 2\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)

    result = _landlord(
        "cluster",
        "up",
        "--nodes",
        "0",
        "--state-dir",
        str(tmp_path / "state"),
        env={"KUBEBUILDER_ASSETS": str(assets)},
    )

    assert result.returncode == 1
    assert "error: etcd exited during start-up" in result.stderr
    assert "hint:" in result.stderr
    assert "data dir is locked by another etcd" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = _landlord("clutser")

    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_status_as_json_for_scripts(tmp_path: pathlib.Path) -> None:
    result = _landlord("cluster", "status", "--state-dir", str(tmp_path / "none"), "-o", "json")

    assert result.returncode == 1
    assert result.stdout == ""
