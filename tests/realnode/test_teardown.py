"""``cluster down`` leaves the machine as ``cluster up --real-nodes`` found it."""

from __future__ import annotations

import pathlib

import pytest

from landlord import kube
from landlord.cluster import controlplane
from landlord.cluster.images import pause
from tests.fixtures.realnode import container, on_real_node, real_node_options, wait_phase
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
    except BaseException:
        controlplane.down(state_dir)
        raise
    # The real node did change the host while it ran: the check below can fail.
    changed = before.differences(during)
    assert {"processes", "links", "cgroups", "kernel"} <= changed.keys(), changed
    assert any(name.startswith("containerd-shim") for name in changed["processes"]["added"])

    stopped = controlplane.down(state_dir)

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
