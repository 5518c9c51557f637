"""A real node's files and flags: what the machine's quirks require, read in one place."""

from __future__ import annotations

import ipaddress
import json
import pathlib
import tomllib

import pytest
import yaml

from landlord.cluster import components, pki
from landlord.cluster.realnode import configs, plan

PLAN = plan.Plan.for_state_dir(pathlib.Path("/state"), 2)
FILES = configs.NodeFiles(pathlib.Path("/state/nodes/real-node-1"))
PKI = pki.Pki(pathlib.Path("/state/pki"))


def test_each_node_gets_its_own_address_pod_range_and_cgroup_off_the_service_range() -> None:
    services = ipaddress.IPv4Network(components.SERVICE_CIDR)
    addresses = {PLAN.node_ip(0), PLAN.node_ip(1)}
    ranges = [ipaddress.IPv4Network(PLAN.pod_cidr(i)) for i in range(2)]

    assert len(addresses) == 2
    assert PLAN.host_ip not in addresses
    assert not ranges[0].overlaps(ranges[1])
    assert not any(r.overlaps(services) for r in ranges)
    assert not ipaddress.IPv4Network(plan.NODE_NETWORK).overlaps(services)
    assert PLAN.cgroup_root(0) != PLAN.cgroup_root(1)


def test_interface_names_fit_the_kernels_fifteen_characters() -> None:
    assert len(PLAN.bridge) <= 15
    assert len(PLAN.host_veth(plan.MAX_NODES - 1)) <= 15


def test_two_state_dirs_get_two_keys_and_the_count_is_bounded() -> None:
    other = plan.Plan.for_state_dir(pathlib.Path("/elsewhere"), 1)
    assert other.key != PLAN.key
    with pytest.raises(ValueError, match="1 to"):
        plan.Plan.for_state_dir(pathlib.Path("/state"), plan.MAX_NODES + 1)


def test_containerd_restricts_oom_scores_and_keeps_its_state_in_the_node() -> None:
    config = tomllib.loads(configs.containerd_config(FILES, "localhost/landlord/pause:x"))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]

    assert config["root"] == "/state/nodes/real-node-1/containerd"
    assert config["state"] == configs.CONTAINERD_STATE
    assert config["grpc"]["address"] == configs.CONTAINERD_SOCKET
    assert cri["restrict_oom_score_adj"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["sandbox_image"] == "localhost/landlord/pause:x"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert cri["cni"]["conf_dir"] == "/state/nodes/real-node-1/cni"


def test_the_pod_network_is_the_nodes_own_range_on_a_bridge() -> None:
    conflist = configs.cni_conflist(PLAN, 1)
    bridge = conflist["plugins"][0]

    assert bridge["type"] == "bridge"
    assert bridge["ipam"]["ranges"] == [[{"subnet": PLAN.pod_cidr(1)}]]
    assert bridge["ipam"]["dataDir"].startswith(configs.CONTAINERD_STATE)
    assert [p["type"] for p in conflist["plugins"]] == ["bridge", "portmap"]
    json.dumps(conflist)


def test_the_kubelet_authenticates_every_caller_and_serves_with_our_certificate() -> None:
    config = configs.kubelet_config(
        PLAN,
        1,
        FILES,
        ca_cert=PKI.ca_cert,
        serving_cert=pathlib.Path("/k.crt"),
        serving_key=pathlib.Path("/k.key"),
    )

    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0
    assert config["tlsCertFile"] == "/k.crt"
    assert config["address"] == PLAN.node_ip(1)
    # This host: cgroup v1 (hybrid), no systemd.
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["failCgroupV1"] is False
    assert config["cgroupRoot"] == PLAN.cgroup_root(1)
    # Tenant workloads (benchmarks with thousands of pods) stay on kwok nodes.
    assert config["registerWithTaints"] == [
        {"key": configs.REAL_NODE_TAINT, "value": "true", "effect": "NoSchedule"}
    ]
    yaml.safe_load(configs.dump_yaml(config))


def test_the_kubelet_runs_with_a_zero_oom_score_and_a_node_label() -> None:
    argv = configs.kubelet_argv(pathlib.Path("/bin/kubelet"), PLAN, 1, FILES)

    assert "--oom-score-adj=0" in argv
    assert f"--node-ip={PLAN.node_ip(1)}" in argv
    assert f"--hostname-override={PLAN.node_name(1)}" in argv
    assert f"--node-labels={configs.NODE_KIND_LABEL}=real" in argv


def test_kube_proxy_uses_iptables_and_leaves_conntrack_settings_alone() -> None:
    config = configs.proxy_config(PLAN, 1, FILES)

    assert config["mode"] == "iptables"
    assert config["clusterCIDR"] == plan.POD_NETWORK
    assert config["conntrack"]["maxPerCore"] == 0
    assert config["conntrack"]["min"] == 0


def test_the_anchor_makes_private_mounts_waits_for_its_network_then_becomes_containerd() -> None:
    script = configs.anchor_script(FILES, "/usr/bin/containerd")
    lines = script.splitlines()

    assert lines[0] == "set -eu"
    assert "mount -t tmpfs" in script
    assert "mount --bind /state/nodes/real-node-1/var-lib /var/lib" in lines
    assert "/state/nodes/real-node-1/network-ready" in script
    assert lines[-1] == (
        "exec /usr/bin/containerd --config /state/nodes/real-node-1/containerd.toml"
    )


def test_the_apiserver_with_real_nodes_authorizes_kubelets_as_nodes() -> None:
    real = components.RealNodeFlags("10.201.0.1", pathlib.Path("/c.crt"), pathlib.Path("/c.key"))
    argv = components.apiserver(
        pathlib.Path("/bin/kube-apiserver"), components.Ports(1, 2, 3, 4), PKI, real
    )
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])

    assert flags["authorization-mode"] == "Node,RBAC"
    assert flags["enable-admission-plugins"] == "NodeRestriction,DenyServiceExternalIPs"
    assert flags["bind-address"] == "10.201.0.1"
    assert flags["advertise-address"] == "10.201.0.1"
    assert flags["endpoint-reconciler-type"] == "lease"
    assert flags["kubelet-certificate-authority"] == str(PKI.ca_cert)
    assert flags["kubelet-preferred-address-types"] == "InternalIP,Hostname"
    assert len(argv) == len(set(argv))
    # Without real nodes nothing changes: loopback only.
    plain = components.apiserver(
        pathlib.Path("/bin/kube-apiserver"), components.Ports(1, 2, 3, 4), PKI
    )
    assert "--bind-address=127.0.0.1" in plain


def test_the_controller_manager_with_real_nodes_runs_the_endpointslice_controllers() -> None:
    argv = components.controller_manager(
        pathlib.Path("/bin/kcm"), pathlib.Path("/kc"), PKI, real_nodes=True
    )
    controllers = next(a for a in argv if a.startswith("--controllers=")).split("=", 1)[1]
    assert "endpointslice-controller" in controllers.split(",")
    plain = components.controller_manager(pathlib.Path("/bin/kcm"), pathlib.Path("/kc"), PKI)
    assert "endpointslice-controller" not in " ".join(plain)
