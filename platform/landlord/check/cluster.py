"""The checks that ask the apiserver: reachable and supported, CRDs, RBAC, platform source."""

from __future__ import annotations

from collections.abc import Sequence

from landlord import api, errors, installer, kube
from landlord.api import conditions, crds
from landlord.check import compare
from landlord.check.results import Result, fail, ok
from landlord.installer import bootstrap, rbac
from landlord.kube import reviews

# Every API Landlord calls is GA in 1.30; 1.36 is the control plane the tests run on.
SUPPORTED = ((1, 30), (1, 36))
SHOWN_MISSING = 5  # permissions named in the message; the rest are counted


def _range() -> str:
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED
    return f"{low_major}.{low_minor}–{high_major}.{high_minor}"


def apiserver(client: kube.Kube) -> Result:
    """Reachable, and a Kubernetes minor version in :data:`SUPPORTED`."""
    name = "apiserver"
    try:
        version = reviews.server_version(client)
    except errors.ApiError as error:
        return fail(
            name,
            error.message,
            "check KUBECONFIG (or --kubeconfig) and that the apiserver runs "
            "(`landlord cluster status` for the local one)",
        )
    low, high = SUPPORTED
    where = f"{client.configuration.host} runs Kubernetes {version.git}"
    if not low <= (version.major, version.minor) <= high:
        return fail(
            name,
            f"{where}, outside the supported range {_range()}",
            f"use a Kubernetes {_range()} cluster (or a Landlord release that supports it)",
        )
    return ok(name, f"{where} (supported: {_range()})")


def custom_resources(client: kube.Kube) -> Result:
    """Each shipped CRD is installed and its versions' schemas match the shipped YAML."""
    name = "CRDs"
    shipped = crds.load()
    differing = []
    for crd in shipped:
        crd_name = crd["metadata"]["name"]
        try:
            served = client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd_name)
        except errors.ApiError as error:
            return fail(name, f"cannot read CRD {crd_name}: {error.message}", _identity_hint())
        difference = compare.crd_difference(crd, served)
        if difference is not None:
            differing.append(f"{crd_name} ({difference})")
    if differing:
        return fail(
            name,
            "not the shipped ones: " + "; ".join(differing),
            "run `landlord install` (it applies the CRDs this Landlord ships)",
        )
    return ok(name, f"{len(shipped)} installed, identical to the shipped ones")


# Two of the reads the operator has through Kubernetes' `view` ClusterRole.
VIEW_READS = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["watch"]},
]


def operator_permissions(
    platform_namespace: str, tenant_roles: Sequence[str] = rbac.TENANT_ROLES
) -> list[compare.Permission]:
    """What ``landlord install`` grants the operator: across the cluster, in its namespace."""
    return compare.permissions(
        [*rbac.operator_rules(tenant_roles), *VIEW_READS]
    ) + compare.permissions(rbac.PLATFORM_RULES, platform_namespace)


def operator_rbac(
    client: kube.Kube,
    platform_namespace: str,
    tenant_roles: Sequence[str] = rbac.TENANT_ROLES,
) -> Result:
    """An access review for every permission ``landlord install`` grants the operator."""
    name = "RBAC"
    wanted = operator_permissions(platform_namespace, tenant_roles)
    try:
        who = reviews.whoami(client)
        denied = [
            access
            for group, resource, verb, namespace, obj in wanted
            if not (access := reviews.can(client, verb, resource, group, namespace, obj)).allowed
        ]
    except errors.ApiError as error:
        return fail(name, f"cannot ask the apiserver: {error.message}", _identity_hint())
    if denied:
        shown = ", ".join(access.rule for access in denied[:SHOWN_MISSING])
        more = f" and {len(denied) - SHOWN_MISSING} more" if len(denied) > SHOWN_MISSING else ""
        return fail(
            name,
            f"{who} may not {shown}{more}",
            f"run `landlord install` (ClusterRole {installer.OPERATOR}) and run the operator as "
            f"the service account it binds, or bind {who} to that ClusterRole",
        )
    return ok(name, f"{who} has every permission the operator needs ({len(wanted)} access reviews)")


def platform_source(client: kube.Kube, platform_namespace: str) -> Result:
    """The GitRepository ``platform``: a warning when absent, a failure when not Ready."""
    name = "platform source"
    where = f"GitRepository {platform_namespace}/{bootstrap.NAME}"
    try:
        source = client.get(api.API_VERSION, "GitRepository", bootstrap.NAME, platform_namespace)
    except errors.ApiError as error:
        hint = "run `landlord install`" if error.status == 404 else _identity_hint()
        return fail(name, f"cannot read {where}: {error.message}", hint)
    if source is None:
        return Result(
            name,
            "warn",
            f"{where} does not exist: the platform is not bootstrapped",
            "run `landlord bootstrap --url URL` to sync the platform repository",
        )
    found = conditions.get((source.get("status") or {}).get("conditions") or [], conditions.READY)
    if found is None or found.get("status") != "True":
        why = (found or {}).get("message") or "no Ready condition yet (is the operator running?)"
        return fail(
            name,
            f"{where} is not Ready: {why}",
            f"see `landlord get sources -n {platform_namespace}` and the operator's log",
        )
    revision = ((source.get("status") or {}).get("artifact") or {}).get("revision", "")
    return ok(name, f"{where} is Ready at {revision}")


def _identity_hint() -> str:
    return "the identity checking needs to read CRDs and Landlord's objects (see --as)"
