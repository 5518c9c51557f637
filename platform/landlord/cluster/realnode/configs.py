"""Every file and command line a real node runs with: pure functions of the plan.

Kept apart from process and host handling so each setting is read (and
unit-tested) in one place; ``docs/local-control-plane.md`` says why each one.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shlex
from typing import Any

import yaml

from landlord.cluster.realnode import plan as plan_mod

CNI_BIN_DIR = "/usr/lib/cni"
RUNC = "/usr/sbin/runc"
# Inside the node's own mount namespace: a private tmpfs, gone with the node.
CONTAINERD_STATE = "/run/containerd"
CONTAINERD_SOCKET = f"{CONTAINERD_STATE}/containerd.sock"
KUBELET_ROOT = "/var/lib/kubelet"
# Seccomp profiles the node offers pods (`localhostProfile` is relative to its
# kubelet's <root-dir>/seccomp): Landlord's operator needs `landlord/sandbox.json`.
SECCOMP_PROFILES = pathlib.Path(__file__).parent / "seccomp"
SANDBOX_PROFILE = "landlord/sandbox.json"
POD_BRIDGE = "landlord0"
NODE_KIND_LABEL = "landlord.dev/node-kind"
REAL_NODE_TAINT = "landlord.dev/real-node"
NODE_NAME_PREFIX = "real-node-"
NETWORK_WAIT_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class NodeFiles:
    """Where one node keeps its files, under the cluster's state dir."""

    dir: pathlib.Path

    @property
    def containerd_config(self) -> pathlib.Path:
        return self.dir / "containerd.toml"

    @property
    def containerd_root(self) -> pathlib.Path:
        return self.dir / "containerd"

    @property
    def cni_dir(self) -> pathlib.Path:
        return self.dir / "cni"

    @property
    def var_lib(self) -> pathlib.Path:
        """Bound onto ``/var/lib`` inside the node (the kubelet's root dir lives here)."""
        return self.dir / "var-lib"

    @property
    def var_log(self) -> pathlib.Path:
        """Bound onto ``/var/log`` inside the node (pod and container logs)."""
        return self.dir / "var-log"

    @property
    def kubelet_config(self) -> pathlib.Path:
        return self.dir / "kubelet.yaml"

    @property
    def kubelet_kubeconfig(self) -> pathlib.Path:
        return self.dir / "kubelet.kubeconfig"

    @property
    def proxy_config(self) -> pathlib.Path:
        return self.dir / "kube-proxy.yaml"

    @property
    def proxy_kubeconfig(self) -> pathlib.Path:
        return self.dir / "kube-proxy.kubeconfig"

    @property
    def resolv_conf(self) -> pathlib.Path:
        return self.dir / "resolv.conf"

    @property
    def network_ready(self) -> pathlib.Path:
        return self.dir / "network-ready"

    @property
    def logs(self) -> pathlib.Path:
        return self.dir / "logs"


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def containerd_config(files: NodeFiles, sandbox_image: str) -> str:
    """The configuration (version 2) of containerd 1.6 for one node."""
    cri = '[plugins."io.containerd.grpc.v1.cri"'
    return "\n".join(
        [
            "version = 2",
            f"root = {_toml_string(str(files.containerd_root))}",
            f"state = {_toml_string(CONTAINERD_STATE)}",
            "disabled_plugins = ["
            + ", ".join(
                _toml_string(f"io.containerd.snapshotter.v1.{name}")
                for name in ("aufs", "btrfs", "devmapper", "zfs")
            )
            + "]",
            "",
            "[grpc]",
            f"  address = {_toml_string(CONTAINERD_SOCKET)}",
            "",
            '[plugins."io.containerd.internal.v1.opt"]',
            f"  path = {_toml_string(str(files.containerd_root / 'opt'))}",
            "",
            f"{cri}]",
            f"  sandbox_image = {_toml_string(sandbox_image)}",
            # Root here lacks CAP_SYS_RESOURCE: runc cannot set a negative oom_score_adj.
            "  restrict_oom_score_adj = true",
            "  netns_mounts_under_state_dir = true",
            "  disable_apparmor = true",
            "  enable_selinux = false",
            f"{cri}.containerd]",
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            f"{cri}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            f"{cri}.containerd.runtimes.runc.options]",
            # cgroupfs, like the kubelet: this host has no systemd; crun fails on hybrid cgroups.
            "  SystemdCgroup = false",
            f"  BinaryName = {_toml_string(RUNC)}",
            f"{cri}.cni]",
            f"  bin_dir = {_toml_string(CNI_BIN_DIR)}",
            f"  conf_dir = {_toml_string(str(files.cni_dir))}",
            "",
        ]
    )


def cni_conflist(plan: plan_mod.Plan, index: int) -> dict[str, Any]:
    """The pod network of one node: a bridge, host-local addresses, port mappings."""
    return {
        "cniVersion": "0.4.0",
        "name": "landlord",
        "plugins": [
            {
                "type": "bridge",
                "bridge": POD_BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": plan.pod_cidr(index)}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": f"{CONTAINERD_STATE}/cni-ipam",
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(
    plan: plan_mod.Plan,
    index: int,
    files: NodeFiles,
    *,
    ca_cert: pathlib.Path,
    serving_cert: pathlib.Path,
    serving_key: pathlib.Path,
) -> dict[str, Any]:
    """The KubeletConfiguration of one node (see docs/local-control-plane.md)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": plan.node_ip(index),
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "tlsCertFile": str(serving_cert),
        "tlsPrivateKeyFile": str(serving_key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
        # This host mounts cgroup v1 (hybrid) and runs no systemd.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "cgroupRoot": plan.cgroup_root(index),
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "failSwapOn": False,
        # Every container gets the runtime's default seccomp profile unless it asks otherwise.
        "seccompDefault": True,
        "resolvConf": str(files.resolv_conf),
        "podCIDR": plan.pod_cidr(index),
        "registerWithTaints": [{"key": REAL_NODE_TAINT, "value": "true", "effect": "NoSchedule"}],
        # A shared development disk: do not evict pods or collect images because it is full.
        "evictionHard": {
            "memory.available": "1Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "containerLogMaxSize": "10Mi",
        "nodeStatusReportFrequency": "10s",
    }


def kubelet_argv(
    binary: pathlib.Path, plan: plan_mod.Plan, index: int, files: NodeFiles
) -> list[str]:
    return [
        str(binary),
        f"--config={files.kubelet_config}",
        f"--kubeconfig={files.kubelet_kubeconfig}",
        f"--root-dir={KUBELET_ROOT}",
        f"--hostname-override={plan.node_name(index)}",
        f"--node-ip={plan.node_ip(index)}",
        f"--node-labels={NODE_KIND_LABEL}=real",
        # Root lacks CAP_SYS_RESOURCE here: a negative score cannot be set.
        "--oom-score-adj=0",
        "--v=1",
    ]


def proxy_config(plan: plan_mod.Plan, index: int, files: NodeFiles) -> dict[str, Any]:
    """kube-proxy in iptables mode (this kernel has no IPVS), leaving conntrack sysctls alone."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(files.proxy_kubeconfig)},
        "mode": "iptables",
        "clusterCIDR": str(plan.pod_network),
        "hostnameOverride": plan.node_name(index),
        "bindAddress": "0.0.0.0",  # noqa: S104 - inside the node's own network namespace
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "oomScoreAdj": 0,
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def proxy_argv(binary: pathlib.Path, files: NodeFiles) -> list[str]:
    return [str(binary), f"--config={files.proxy_config}", "--v=1"]


def anchor_script(files: NodeFiles, containerd: str) -> str:
    """What runs first in the node's new namespaces, then becomes containerd.

    It gives the node private ``/run``, ``/var/lib`` and ``/var/log``, brings up
    loopback, waits for the host to hand it its ``eth0``, and execs containerd,
    whose process then holds the namespaces for the kubelet and kube-proxy.
    """
    q = shlex.quote
    steps = int(NETWORK_WAIT_SECONDS / 0.05)
    return "\n".join(
        [
            "set -eu",
            "mount -t tmpfs -o mode=0755,size=256m landlord-node /run",
            f"mount --bind {q(str(files.var_lib))} /var/lib",
            f"mount --bind {q(str(files.var_log))} /var/log",
            f"mkdir -p {CONTAINERD_STATE}",
            "ip link set lo up",
            "i=0",
            f"while [ ! -e {q(str(files.network_ready))} ]; do",
            "  sleep 0.05; i=$((i + 1))",
            f'  [ "$i" -lt {steps} ] || {{ echo "the host never set up eth0" >&2; exit 1; }}',
            "done",
            f"exec {q(containerd)} --config {q(str(files.containerd_config))}",
        ]
    )


def dump_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False)
