"""A hostile tenant (or a careless registration) against many clusters.

The apply on a registered cluster runs as the tenant's service account there,
never as the registry credential; a kubeconfig is never run or read from disk;
a tenant's own kubeconfig is never used; a refused target applies nothing
anywhere.
"""

from __future__ import annotations

import base64
import pathlib

import yaml

from landlord import api, kube
from landlord.api import conditions, labels
from landlord.clusters import register
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.multicluster import Plane, Spread, cluster_ready
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.sync.test_apply_and_prune import config_map


def test_the_registry_credential_is_never_the_applying_identity(spread: Spread) -> None:
    """With reconcilerRole view the tenant creates nothing on east; the admin credential could."""
    spread.tenants.update(spread.name, {"reconcilerRole": "view"})
    spread.tenant_ready_on("east")
    eventually(
        lambda: (
            (
                spread.on("east").get(
                    "rbac.authorization.k8s.io/v1",
                    "RoleBinding",
                    labels.RECONCILER_BINDING,
                    spread.namespace,
                )
                or {}
            )
            .get("roleRef", {})
            .get("name")
            == "view"
        ),
        timeout=20,
        what="the reconciler bound to view on east",
    )
    spread.allow_targets("east")
    spread.push({})
    try:
        spread.kustomization("remote", path="./remote", cluster="east")

        failed = spread.reason("remote", "ApplyFailed")

        user = f"system:serviceaccount:{spread.namespace}:{labels.RECONCILER_SERVICE_ACCOUNT}"
        assert user in failed["message"]
        assert "forbidden" in failed["message"]
        assert spread.config_map("east", "one") is None
        assert spread.config_map("local", "one") is None
    finally:  # the tenant's own sync may prune again when it is offboarded
        spread.tenants.update(spread.name, {"reconcilerRole": "admin"})


def test_a_target_denied_by_policy_applies_nothing_anywhere(spread: Spread) -> None:
    spread.push({})
    spread.kustomization("remote", path="./remote", cluster="east")

    denied = spread.reason("remote", "PolicyDenied")

    assert "target cluster 'east' is denied" in denied["message"]
    for cluster in ("local", "east", "west"):
        assert spread.config_map(cluster, "one") is None, cluster
    assert "inventory" not in spread.status("remote")


def test_a_cluster_the_tenant_is_not_provisioned_on_is_refused(spread: Spread) -> None:
    spread.tenants.update(spread.name, {"clusters": ["local", "east"]})
    eventually(
        lambda: spread.on("west").get("v1", "Namespace", spread.namespace) is None,
        timeout=60,
        what="the tenant offboarded from west",
    )
    # Someone recreates the namespace and the account on west by hand: still not the tenant's.
    west = spread.on("west")
    west.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": spread.namespace}})
    west.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": labels.RECONCILER_SERVICE_ACCOUNT, "namespace": spread.namespace},
        }
    )
    try:
        spread.allow_targets("west")
        spread.push({})
        spread.kustomization("remote", path="./remote", cluster="west")

        refused = spread.reason("remote", "ClusterNotProvisioned")

        assert "add it to the Tenant's spec.clusters" in refused["message"]
        assert spread.config_map("west", "one") is None
    finally:
        west.delete("v1", "Namespace", spread.namespace)


def test_a_kubeconfig_of_the_tenant_s_own_is_never_used(spread: Spread) -> None:
    """A Secret in the tenant's namespace with a working admin kubeconfig for east."""
    east = spread.clusters["east"]
    spread.admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "my-kubeconfig", "namespace": spread.namespace},
            "data": {"value": base64.b64encode(east.kubeconfig.read_bytes()).decode()},
        },
        field_manager="test",
    )
    spread.allow_targets("east")
    spread.push({})
    spread.kustomization(
        "remote", path="./remote", kubeConfig={"secretRef": {"name": "my-kubeconfig"}}
    )

    refused = spread.reason("remote", "ClusterNotFound")

    assert "never is" in refused["message"]
    assert spread.config_map("east", "one") is None


def test_a_registered_kubeconfig_that_would_run_a_program_is_refused_unrun(
    admin: kube.Kube, clusters: dict[str, Plane], operator: OperatorProcess, tmp_path: pathlib.Path
) -> None:
    """Written straight into the Secret (``landlord cluster register`` would refuse it first)."""
    marker = tmp_path / "ran"
    east = yaml.safe_load(clusters["east"].kubeconfig.read_text())
    user = east["users"][0]["user"]
    user.pop("client-key-data")
    user["exec"] = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "/bin/sh",
        "args": ["-c", f"touch {marker}"],
    }
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hostile-kubeconfig", "namespace": PLATFORM_NAMESPACE},
            "data": {"value": base64.b64encode(yaml.safe_dump(east).encode()).decode()},
        },
        field_manager="test",
    )
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Cluster",
            "metadata": {"name": "hostile", "namespace": PLATFORM_NAMESPACE},
            "spec": {"kubeConfig": {"secretRef": {"name": "hostile-kubeconfig"}}},
        },
        field_manager="test",
    )
    try:

        def refused() -> dict[str, object] | None:
            body = admin.get(api.API_VERSION, "Cluster", "hostile", PLATFORM_NAMESPACE) or {}
            ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
            return ready if ready and ready.get("reason") == "KubeconfigRefused" else None

        ready = eventually(refused, timeout=30, what="the Cluster refused")
        assert "exec: an exec plugin would run a program" in str(ready["message"])
        assert not marker.exists()
    finally:
        admin.delete(api.API_VERSION, "Cluster", "hostile", PLATFORM_NAMESPACE)
        admin.delete("v1", "Secret", "hostile-kubeconfig", PLATFORM_NAMESPACE)
    cluster_ready(admin, "east")  # the real registration is untouched


def test_objects_labelled_as_another_s_on_a_registered_cluster_are_not_pruned(
    spread: Spread,
) -> None:
    """A look-alike ConfigMap on west carrying the sync's labels is not in any inventory."""
    spread.allow_targets("east", "west")
    sha = spread.push({})
    spread.kustomization("remote", path="./remote", cluster="east")
    spread.ready("remote", sha)
    west = spread.on("west")
    decoy = config_map("one")
    decoy["metadata"].update(
        namespace=spread.namespace,
        labels={
            labels.KUSTOMIZATION_NAME: "remote",
            labels.KUSTOMIZATION_NAMESPACE: spread.namespace,
        },
    )
    west.apply(decoy, field_manager="someone-else")

    spread.kustomization("remote", path="./remote", cluster="west")

    eventually(
        lambda: (
            (spread.status("remote").get("inventory") or {}).get("clusterName") == "west"
            and not spread.status("remote")["inventory"].get("pending")
        ),
        timeout=45,
        what="the move to west",
    )
    # East's objects went through east; west's same-id object was adopted by the apply,
    # never deleted through east's entries.
    assert spread.config_map("east", "one") is None
    assert spread.config_map("west", "one") is not None


def test_a_cluster_is_registered_once_and_never_as_the_operator_s_own(
    admin: kube.Kube,
    clusters: dict[str, Plane],
    operator: OperatorProcess,
    control_plane: pathlib.Path,
) -> None:
    """Two names for one cluster would fight over its namespaces; the home cluster twice over."""
    cluster_ready(admin, "east")
    twins = {"east-again": clusters["east"].kubeconfig, "home": control_plane}
    for name, path in twins.items():
        register.register(admin, name, path, platform_namespace=PLATFORM_NAMESPACE)
    try:
        for name, says in (("east-again", "same cluster as east"), ("home", "operator's own")):

            def refused(name: str = name) -> dict[str, object] | None:
                body = admin.get(api.API_VERSION, "Cluster", name, PLATFORM_NAMESPACE) or {}
                status = body.get("status") or {}
                ready = conditions.get(status.get("conditions") or [], "Ready")
                return ready if ready and ready.get("reason") == "DuplicateIdentity" else None

            ready = eventually(refused, timeout=30, what=f"Cluster {name} refused")
            assert says in str(ready["message"])
    finally:
        for name in twins:
            admin.delete(api.API_VERSION, "Cluster", name, PLATFORM_NAMESPACE)
            admin.delete("v1", "Secret", register.secret_name(name), PLATFORM_NAMESPACE)
    cluster_ready(admin, "east")  # the first registration is untouched
