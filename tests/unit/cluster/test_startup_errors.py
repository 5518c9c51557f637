"""Bring-up fails clearly: a dying component, a taken port, a stale or busy state dir.

The binaries here are small shell scripts handed in through the assets folder
(the ``KUBEBUILDER_ASSETS`` path), so the orchestration is exercised for real
without the minutes a real control plane costs.
"""

from __future__ import annotations

import json
import pathlib
import stat
import subprocess
import sys

import pytest

from landlord import errors
from landlord.cluster import controlplane, processes


def _assets(tmp_path: pathlib.Path, etcd_script: str) -> pathlib.Path:
    folder = tmp_path / "assets"
    folder.mkdir()
    scripts = {
        "etcd": etcd_script,
        "kube-apiserver": "exit 3\n",
        "kube-controller-manager": "exit 3\n",
    }
    for name, body in scripts.items():
        path = folder / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return folder


def _options(
    tmp_path: pathlib.Path, assets: pathlib.Path, timeout: float = 20.0
) -> controlplane.Options:
    return controlplane.Options(
        state_dir=tmp_path / "state",
        cache_dir=tmp_path / "cache",
        assets_dir=assets,
        nodes=0,
        timeout=timeout,
    )


def test_a_component_that_dies_shows_its_last_log_lines(tmp_path: pathlib.Path) -> None:
    assets = _assets(tmp_path, 'echo "etcdmain: cannot access data directory: boom" >&2\nexit 1\n')

    with pytest.raises(errors.ComponentFailedError) as failed:
        controlplane.up(_options(tmp_path, assets))

    assert "etcd exited during start-up" in str(failed.value)
    assert "boom" in failed.value.log_tail
    assert str(tmp_path / "state" / "logs" / "etcd.log") in str(failed.value)


def test_a_taken_port_is_retried_then_reported(tmp_path: pathlib.Path) -> None:
    assets = _assets(
        tmp_path, 'echo "listen tcp 127.0.0.1:2379: bind: address already in use"\nexit 1\n'
    )

    with pytest.raises(errors.PortInUseError, match="address already in use"):
        controlplane.up(_options(tmp_path, assets))

    attempts = (tmp_path / "state" / "logs" / "etcd.log").read_text().count("already in use")
    assert attempts == controlplane.PORT_ATTEMPTS


def test_a_component_that_never_gets_ready_is_stopped(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "started"
    assets = _assets(tmp_path, f'touch "{marker}"\nsleep 300\n')

    with pytest.raises(errors.ComponentFailedError, match="did not become ready"):
        controlplane.up(_options(tmp_path, assets, timeout=1.5))

    assert marker.exists()
    leftovers = subprocess.run(
        ["pgrep", "-f", str(assets / "etcd")], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == []


def _record_state(state_dir: pathlib.Path, record: processes.Record) -> None:
    state_dir.mkdir(parents=True)
    (state_dir / "state.json").write_text(
        json.dumps(
            {
                "version": 1,
                "server": "https://127.0.0.1:1",
                "kubeconfig": str(state_dir / "kc"),
                "components": [record.to_json()],
                "versions": {},
                "etcd_data": str(state_dir / "etcd"),
                "nodes": 0,
            }
        )
    )


def test_a_stale_state_dir_is_refused_until_cleared(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "state"
    _record_state(state_dir, processes.Record("etcd", 999_999, ("/nowhere/etcd",), "x.log"))
    assets = _assets(tmp_path, "exit 1\n")

    with pytest.raises(errors.StateDirError, match="no longer running") as stale:
        controlplane.up(_options(tmp_path, assets))
    assert stale.value.hint is not None
    assert "landlord cluster down" in stale.value.hint

    assert controlplane.down(state_dir) == []
    assert not (state_dir / "state.json").exists()


def test_a_running_state_dir_is_not_started_twice(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "state"
    sleeper = processes.start(
        "etcd", [sys.executable, "-c", "import time; time.sleep(300)"], tmp_path / "sleeper.log"
    )
    try:
        _record_state(state_dir, sleeper)
        with pytest.raises(errors.StateDirError, match="already runs"):
            controlplane.up(_options(tmp_path, _assets(tmp_path, "exit 1\n")))

        assert controlplane.down(state_dir) == ["etcd"]
        assert not processes.alive(sleeper)
    finally:
        processes.stop(sleeper)
