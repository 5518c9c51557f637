"""Where each real node sits on the network: pure arithmetic over two ranges.

The node network (a host bridge with the host's address first) carries the
kubelets' and the apiserver's traffic; each node routes a /24 of the pod
range to its pods. Both ranges sit away from the Service range (10.0.0.0/16),
kwok's fake pod range (inside it) and 10.88.0.0/16 (containerd's and podman's
default bridge).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import pathlib

NODE_NETWORK = "10.201.0.0/24"
POD_NETWORK = "10.244.0.0/16"
FIRST_NODE_HOST = 10
MAX_NODES = 8


@dataclasses.dataclass(frozen=True)
class Plan:
    """The addresses and names of one cluster's real nodes."""

    key: str
    node_network: ipaddress.IPv4Network
    pod_network: ipaddress.IPv4Network
    count: int

    @classmethod
    def for_state_dir(
        cls,
        state_dir: pathlib.Path,
        count: int,
        *,
        node_network: str = NODE_NETWORK,
        pod_network: str = POD_NETWORK,
    ) -> Plan:
        if not 1 <= count <= MAX_NODES:
            raise ValueError(f"real nodes: 1 to {MAX_NODES}, not {count}")
        key = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:6]
        return cls(
            key=key,
            node_network=ipaddress.IPv4Network(node_network),
            pod_network=ipaddress.IPv4Network(pod_network),
            count=count,
        )

    @property
    def host_ip(self) -> str:
        """The host's address on the node network: what pods reach the apiserver at."""
        return str(self.node_network.network_address + 1)

    @property
    def prefix(self) -> int:
        return self.node_network.prefixlen

    @property
    def bridge(self) -> str:
        """The host bridge (interface names are at most 15 characters)."""
        return f"llbr-{self.key}"

    def node_name(self, index: int) -> str:
        return f"real-node-{index}"  # configs.NODE_NAME_PREFIX

    def node_ip(self, index: int) -> str:
        return str(self.node_network.network_address + FIRST_NODE_HOST + index)

    def host_veth(self, index: int) -> str:
        return f"ll{self.key}n{index}"

    def pod_cidr(self, index: int) -> str:
        subnets = list(self.pod_network.subnets(new_prefix=24))
        return str(subnets[index])

    def cgroup_root(self, index: int) -> str:
        """The cgroup the node's pods live under, in every hierarchy."""
        return f"/landlord-{self.key}-node{index}"
