"""``run_all`` and ``run_pre``: every check in order; a cluster's are skipped when unreachable."""

from __future__ import annotations

from landlord import kube
from landlord import settings as settings_mod
from landlord.check import cluster, host, pre
from landlord.check.cluster import SUPPORTED
from landlord.check.results import Result

__all__ = ["SUPPORTED", "run_all", "run_pre"]

CLUSTER_CHECKS = ("CRDs", "RBAC", "platform source")
PRE_CLUSTER_CHECKS = ("install permissions",)


def _apiserver(client: kube.Kube | None, results: list[Result]) -> bool:
    """Append the apiserver check; whether the cluster's checks can run."""
    if client is None:
        return False
    first = cluster.apiserver(client)
    results.append(first)
    return not first.failed


def _tools(config: settings_mod.Settings) -> list[Result]:
    return [
        host.kustomize(config),
        host.tool(config, "helm"),
        host.tool(config, "sops"),
        host.build_sandbox(config),
    ]


def run_all(config: settings_mod.Settings, client: kube.Kube | None) -> list[Result]:
    """The results, one per check; ``client`` None means no kubeconfig could be loaded."""
    results: list[Result] = []
    reachable = _apiserver(client, results)
    if client is not None and reachable:
        results += [
            cluster.custom_resources(client),
            cluster.operator_rbac(client, config.platform_namespace, config.tenants.roles),
            cluster.platform_source(client, config.platform_namespace),
        ]
    else:
        results += [Result(name, "skip", "the apiserver is unreachable") for name in CLUSTER_CHECKS]
    results += [host.policy(config, client if reachable else None), *_tools(config)]
    return results


def run_pre(config: settings_mod.Settings, client: kube.Kube | None) -> list[Result]:
    """The checks that make sense before ``landlord install``.

    A supported apiserver, the caller's permission to apply what install
    applies, the policy from its local source (or the shipped one) and the
    tools the operator runs. Nothing Landlord installs is looked for.
    """
    results: list[Result] = []
    if _apiserver(client, results) and client is not None:
        results.append(
            pre.install_access(
                client,
                config.platform_namespace,
                config.tenants.roles,
                config.tenants.pod_security_levels,
            )
        )
    else:
        results += [
            Result(name, "skip", "the apiserver is unreachable") for name in PRE_CLUSTER_CHECKS
        ]
    policy = host.policy(config, None, without_source="until the platform repository has one")
    return [*results, policy, *_tools(config)]
