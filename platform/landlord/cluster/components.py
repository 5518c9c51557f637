"""The command line each control-plane component runs with: pure functions.

Kept apart from process handling so the flags are read (and unit-tested) in
one place. The set of controllers is what Landlord relies on: namespaces are
finalized, garbage is collected, service accounts and their tokens exist,
aggregated ClusterRoles (``admin``, ``edit``, ``view``) get their rules, quotas
are counted, and workloads roll out.
"""

from __future__ import annotations

import dataclasses
import pathlib

from landlord.cluster import pki as pki_mod

# Room for tens of thousands of Services (benchmarks onboard 1,000 tenants with one each).
SERVICE_CIDR = "10.0.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODE_VALUE = "fake"

CONTROLLERS = (
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "clusterrole-aggregation-controller",
    "root-ca-certificate-publisher-controller",
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    # Computes ResourceQuota usage; without it quota admission rejects every pod.
    "resourcequota-controller",
)
# With real nodes, Services must get endpoints for kube-proxy to route to.
REAL_NODE_CONTROLLERS = ("endpointslice-controller", "endpointslice-mirroring-controller")


@dataclasses.dataclass(frozen=True)
class RealNodeFlags:
    """What the apiserver needs when real kubelets join: an address pods reach, kubelet TLS."""

    advertise_ip: str
    kubelet_client_cert: pathlib.Path
    kubelet_client_key: pathlib.Path


@dataclasses.dataclass(frozen=True)
class Ports:
    """The loopback ports the components listen on."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    kwok: int


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each component keeps its files inside the state directory."""

    state_dir: pathlib.Path
    etcd_data: pathlib.Path

    @property
    def pki_dir(self) -> pathlib.Path:
        return self.state_dir / "pki"

    @property
    def logs(self) -> pathlib.Path:
        return self.state_dir / "logs"

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.state_dir / "kubeconfig"

    def component_kubeconfig(self, name: str) -> pathlib.Path:
        return self.state_dir / "components" / f"{name}.kubeconfig"

    @property
    def state_file(self) -> pathlib.Path:
        return self.state_dir / "state.json"


def etcd(binary: pathlib.Path, ports: Ports, layout: Layout) -> list[str]:
    client = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(binary),
        "--name=landlord",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=landlord={peer}",
        "--initial-cluster-state=new",
        # A throwaway local store: durability is not worth an fsync per write.
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=8589934592",
        "--log-level=warn",
    ]


def apiserver(
    binary: pathlib.Path, ports: Ports, pki: pki_mod.Pki, real: RealNodeFlags | None = None
) -> list[str]:
    argv = [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={SA_ISSUER}",
        f"--api-audiences={SA_ISSUER}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        # The loopback address may not be published as the `kubernetes` Service's endpoint.
        "--endpoint-reconciler-type=none",
        # Nobody runs the node-lifecycle controller that would lift the not-ready
        # taint from kwok nodes, so do not add it in the first place.
        "--disable-admission-plugins=TaintNodesByCondition",
        "--profiling=false",
        "--v=1",
    ]
    if real is None:
        return argv
    replaced = {
        # Pods reach the apiserver on the node network (the host's address on the host
        # bridge, nowhere else), through the `kubernetes` Service whose endpoint the
        # lease reconciler publishes.
        "--bind-address": real.advertise_ip,
        "--advertise-address": real.advertise_ip,
        "--endpoint-reconciler-type": "lease",
        # Kubelets are authorized as nodes: each reads and writes only its own pods.
        "--authorization-mode": "Node,RBAC",
    }
    argv = [
        f"{flag}={replaced[flag]}" if (flag := arg.split("=", 1)[0]) in replaced else arg
        for arg in argv
    ]
    return [
        *argv[:-2],
        # NodeRestriction: a kubelet edits only its own Node and pods.
        # DenyServiceExternalIPs: no Service may claim an address (the apiserver's on the
        # node network, say) and have kube-proxy send the nodes' traffic for it to a pod.
        "--enable-admission-plugins=NodeRestriction,DenyServiceExternalIPs",
        f"--kubelet-client-certificate={real.kubelet_client_cert}",
        f"--kubelet-client-key={real.kubelet_client_key}",
        f"--kubelet-certificate-authority={pki.ca_cert}",
        # Logs and exec reach the kubelet at its address, never a DNS name.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        *argv[-2:],
    ]


def controller_manager(
    binary: pathlib.Path, kubeconfig: pathlib.Path, pki: pki_mod.Pki, *, real_nodes: bool = False
) -> list[str]:
    controllers = CONTROLLERS + (REAL_NODE_CONTROLLERS if real_nodes else ())
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        f"--controllers={','.join(controllers)}",
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca_cert}",
        "--cluster-name=landlord",
        "--v=1",
    ]


def scheduler(binary: pathlib.Path, kubeconfig: pathlib.Path) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        "--v=1",
    ]


def kwok(
    binary: pathlib.Path, kubeconfig: pathlib.Path, ports: Ports, config: pathlib.Path
) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--config={config}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}={KWOK_NODE_VALUE}",
        "--node-ip=10.0.1.1",
        "--cidr=10.0.2.0/24",
        f"--server-address=127.0.0.1:{ports.kwok}",
        "--node-lease-duration-seconds=40",
    ]
