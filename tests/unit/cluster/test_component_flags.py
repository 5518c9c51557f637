"""The flags each component runs with: RBAC, loopback only, the controllers Landlord needs."""

from __future__ import annotations

import pathlib

from landlord.cluster import components, pki

PORTS = components.Ports(etcd_client=2001, etcd_peer=2002, apiserver=2003, kwok=2004)
PKI = pki.Pki(pathlib.Path("/state/pki"))


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])


def test_apiserver_enforces_rbac_on_loopback() -> None:
    flags = _flags(components.apiserver(pathlib.Path("/bin/kube-apiserver"), PORTS, PKI))

    assert flags["authorization-mode"] == "RBAC"
    assert flags["bind-address"] == "127.0.0.1"
    assert flags["secure-port"] == "2003"
    assert flags["etcd-servers"] == "http://127.0.0.1:2001"
    assert flags["client-ca-file"] == "/state/pki/ca.crt"
    assert flags["service-account-signing-key-file"] == "/state/pki/sa.key"
    assert flags["service-account-key-file"] == "/state/pki/sa.pub"


def test_etcd_listens_on_loopback_only() -> None:
    layout = components.Layout(pathlib.Path("/state"), pathlib.Path("/dev/shm/x"))
    flags = _flags(components.etcd(pathlib.Path("/bin/etcd"), PORTS, layout))

    assert flags["listen-client-urls"] == "http://127.0.0.1:2001"
    assert flags["listen-peer-urls"] == "http://127.0.0.1:2002"
    assert flags["data-dir"] == "/dev/shm/x"


def test_controller_manager_runs_the_controllers_landlord_relies_on() -> None:
    flags = _flags(
        components.controller_manager(
            pathlib.Path("/bin/kcm"), pathlib.Path("/state/kcm.kubeconfig"), PKI
        )
    )
    controllers = set(flags["controllers"].split(","))

    assert {
        "namespace-controller",
        "garbage-collector-controller",
        "serviceaccount-controller",
        "serviceaccount-token-controller",
        "clusterrole-aggregation-controller",
        "deployment-controller",
        "replicaset-controller",
    } <= controllers
    assert flags["use-service-account-credentials"] == "true"
    assert flags["root-ca-file"] == "/state/pki/ca.crt"


def test_kwok_manages_only_annotated_nodes() -> None:
    flags = _flags(
        components.kwok(
            pathlib.Path("/bin/kwok"), pathlib.Path("/kc"), PORTS, pathlib.Path("/stages.yaml")
        )
    )

    assert flags["manage-all-nodes"] == "false"
    assert flags["manage-nodes-with-annotation-selector"] == "kwok.x-k8s.io/node=fake"
    assert flags["server-address"] == "127.0.0.1:2004"
    assert flags["config"] == "/stages.yaml"
