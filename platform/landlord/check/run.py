"""``run_all``: every check in order; the cluster's are skipped when it cannot be reached."""

from __future__ import annotations

from landlord import kube
from landlord import settings as settings_mod
from landlord.check import cluster, host
from landlord.check.cluster import SUPPORTED
from landlord.check.results import Result

__all__ = ["SUPPORTED", "run_all"]

CLUSTER_CHECKS = ("CRDs", "RBAC", "platform source")


def run_all(config: settings_mod.Settings, client: kube.Kube | None) -> list[Result]:
    """The results, one per check; ``client`` None means no kubeconfig could be loaded."""
    reachable = client is not None
    results: list[Result] = []
    if client is not None:
        first = cluster.apiserver(client)
        results.append(first)
        reachable = not first.failed
    if client is not None and reachable:
        results += [
            cluster.custom_resources(client),
            cluster.operator_rbac(client, config.platform_namespace, config.tenants.roles),
            cluster.platform_source(client, config.platform_namespace),
        ]
    else:
        results += [Result(name, "skip", "the apiserver is unreachable") for name in CLUSTER_CHECKS]
    results += [
        host.policy(config, client if reachable else None),
        host.kustomize(config),
        host.build_sandbox(config),
    ]
    return results
