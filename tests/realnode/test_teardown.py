"""``cluster down`` leaves the machine as ``cluster up --real-nodes`` found it."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import pytest

from landlord import errors, kube
from landlord.cluster import controlplane, processes
from landlord.cluster.images import pause
from tests.fixtures.realnode import container, on_real_node, real_node_options, wait_phase
from tests.helpers import eventually
from tests.realnode import hoststate


def test_cluster_down_leaves_no_process_mount_link_rule_cgroup_or_setting_behind(
    tmp_path: pathlib.Path,
) -> None:
    before = hoststate.snapshot()
    state_dir = tmp_path / "cluster"
    options = real_node_options(state_dir)
    plane = controlplane.up(options)
    try:
        admin = kube.connect(plane.kubeconfig)
        admin.core.create_namespace({"metadata": {"name": "teardown"}})
        pod = {
            "metadata": {"name": "holder"},
            "spec": on_real_node(
                {
                    "containers": [
                        container(
                            pause.image_name(),
                            ["/pause", "-P"],
                            ports=[{"containerPort": 9000, "hostPort": 19000}],
                        )
                    ],
                    "volumes": [{"name": "scratch", "emptyDir": {"medium": "Memory"}}],
                }
            ),
        }
        pod["spec"]["containers"][0]["volumeMounts"] = [
            {"name": "scratch", "mountPath": "/scratch"}
        ]
        admin.core.create_namespaced_pod("teardown", pod)
        wait_phase(admin, "teardown", "holder", "Running")
        during = hoststate.snapshot()
        admin.close()
    finally:
        stopped = controlplane.down(state_dir)
    # The real node did change the host while it ran: the check below can fail.
    changed = before.differences(during)
    assert {"processes", "links", "cgroups", "kernel"} <= changed.keys(), changed
    assert any(name.startswith("containerd-shim") for name in changed["processes"]["added"])

    assert "real-node-0/kubelet" in stopped
    after = hoststate.snapshot()
    assert before.differences(after) == {}
    assert not (state_dir / "nodes").exists()


def test_a_machine_without_the_packages_gets_a_message_naming_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    from landlord.cluster.realnode import host

    monkeypatch.setattr(
        host.shutil, "which", lambda name: None if name in ("containerd", "ctr") else "/bin/true"
    )
    with pytest.raises(host.RealNodeHostError) as raised:
        controlplane.up(real_node_options(tmp_path / "cluster"))
    assert "containerd" in str(raised.value)
    assert "make node-tools" in str(raised.value)
    assert not (tmp_path / "cluster" / "state.json").exists()


def test_a_start_killed_midway_is_undone_by_down_kernel_settings_included(
    tmp_path: pathlib.Path,
) -> None:
    before = hoststate.snapshot()
    state_dir = tmp_path / "cluster"
    cli = pathlib.Path(sys.executable).with_name("landlord")
    up = subprocess.Popen(
        [
            str(cli),
            "cluster",
            "up",
            "--state-dir",
            str(state_dir),
            "--nodes",
            "0",
            "--real-nodes",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert up.stdout is not None
    seen = []
    for line in up.stdout:
        seen.append(line)
        if "kube-proxy" in line and "starting" in line:
            up.send_signal(signal.SIGKILL)  # no clean-up runs, state.json never written
            break
    try:
        up.wait(timeout=30)
        up.stdout.close()
        assert up.returncode == -signal.SIGKILL, "".join(seen)
        assert not (state_dir / "state.json").exists()
        # The orphaned kubelet goes on and changes the kernel settings (the panics it
        # leaves to Landlord's own start, which never came).
        eventually(
            lambda: (
                before.differences(hoststate.snapshot()).keys()
                >= {"processes", "links", "cgroups", "kernel"}
            ),
            timeout=20,
            what="the orphaned node's changes",
        )
        # A new start refuses to run over the leftovers and says how to clear them.
        with pytest.raises(errors.StateDirError, match="interrupted start"):
            controlplane.up(real_node_options(state_dir))
    finally:
        controlplane.down(state_dir)
    # down stopped the orphaned control plane too (etcd included: its data is on /dev/shm).
    assert _processes_of(state_dir) == []
    assert before.differences(hoststate.snapshot()) == {}


def _processes_of(state_dir: pathlib.Path) -> list[int]:
    etcd_data = controlplane._etcd_data_dir(state_dir)
    return processes.naming(str(state_dir), str(etcd_data))
