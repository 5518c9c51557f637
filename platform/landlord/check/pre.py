"""Before ``landlord install``: whether the caller may apply what install applies.

Asked of the apiserver (SelfSubjectAccessReviews), derived from the objects
``install`` applies: create and patch (server-side apply) for each of their
kinds, where each lands. Roles and bindings the caller does not itself hold
the permissions of need ``escalate`` and ``bind`` (Kubernetes' RBAC escalation
check): without those, every permission the shipped roles grant is asked too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from landlord import errors, kube
from landlord.api import crds
from landlord.check import compare
from landlord.check.results import Result, fail, ok
from landlord.installer import admission, rbac
from landlord.kube import reviews

SHOWN_MISSING = 5  # permissions named in the message; the rest are counted
RBAC = "rbac.authorization.k8s.io"
ROLE_KINDS = ("ClusterRole", "Role")
# Install applies (server-side: PATCH, which creates a missing object only with `create`)
# and reads the CRDs back until they are Established.
APPLY_VERBS = ("create", "patch")


def resource_of(kind: str) -> str:
    """The resource (plural) of one of the kinds install applies: ``ClusterRole`` → clusterroles."""
    lower = kind.lower()
    return lower[:-1] + "ies" if lower.endswith("y") else lower + "s"


def install_manifests(
    platform_namespace: str,
    tenant_roles: Sequence[str] = rbac.TENANT_ROLES,
    pod_security_levels: Sequence[str] = admission.POD_SECURITY_LEVELS,
) -> list[dict[str, Any]]:
    """Every object ``landlord install`` applies, CRDs first."""
    return [
        *crds.load(),
        *rbac.manifests(platform_namespace, tenant_roles),
        *admission.manifests(platform_namespace, pod_security_levels),
    ]


def install_permissions(manifests: Iterable[dict[str, Any]]) -> list[compare.Permission]:
    """What applying ``manifests`` needs: create and patch of each kind where it lands."""
    seen: dict[compare.Permission, None] = {}
    for manifest in manifests:
        group = manifest["apiVersion"].rpartition("/")[0]
        resource = resource_of(manifest["kind"])
        namespace = manifest["metadata"].get("namespace") or ""
        for verb in APPLY_VERBS:
            seen[(group, resource, verb, namespace, "")] = None
        if manifest["kind"] == "CustomResourceDefinition":
            seen[(group, resource, "get", "", "")] = None
    return list(seen)


def granted(manifests: Iterable[dict[str, Any]]) -> list[compare.Permission]:
    """Every permission the roles among ``manifests`` grant (held, or else escalate/bind)."""
    found: dict[compare.Permission, None] = {}
    for manifest in manifests:
        if manifest["kind"] in ROLE_KINDS:
            namespace = manifest["metadata"].get("namespace") or ""
            for permission in compare.permissions(manifest.get("rules") or [], namespace):
                found[permission] = None
    return list(found)


# Granting roles one does not hold: Kubernetes' escalation check lets these through.
ESCALATION: list[compare.Permission] = [
    (RBAC, "clusterroles", "escalate", "", ""),
    (RBAC, "clusterroles", "bind", "", ""),
    (RBAC, "roles", "escalate", "", ""),
    (RBAC, "roles", "bind", "", ""),
]


def _denied(client: kube.Kube, wanted: Iterable[compare.Permission]) -> list[reviews.Access]:
    return [
        access
        for group, resource, verb, namespace, name in wanted
        if not (access := reviews.can(client, verb, resource, group, namespace, name)).allowed
    ]


def install_access(
    client: kube.Kube,
    platform_namespace: str,
    tenant_roles: Sequence[str] = rbac.TENANT_ROLES,
    pod_security_levels: Sequence[str] = admission.POD_SECURITY_LEVELS,
) -> Result:
    """Access reviews for everything ``landlord install`` would do as this identity."""
    name = "install permissions"
    manifests = install_manifests(platform_namespace, tenant_roles, pod_security_levels)
    wanted = install_permissions(manifests)
    try:
        who = reviews.whoami(client)
        denied = _denied(client, wanted)
        asked = len(wanted) + len(ESCALATION)
        if not _denied(client, ESCALATION):
            roles = "may grant the operator's roles (escalate, bind)"
        else:
            held = granted(manifests)
            asked += len(held)
            denied += _denied(client, held)
            roles = "holds every permission the operator's roles grant"
    except errors.ApiError as error:
        return fail(
            name,
            f"cannot ask the apiserver: {error.message}",
            "the identity checking must be allowed to create SelfSubjectAccessReviews",
        )
    if denied:
        shown = ", ".join(access.rule for access in denied[:SHOWN_MISSING])
        more = f" and {len(denied) - SHOWN_MISSING} more" if len(denied) > SHOWN_MISSING else ""
        return fail(
            name,
            f"{who} may not {shown}{more}",
            "run `landlord install` as a cluster admin (or give this identity those permissions, "
            "and escalate and bind on ClusterRoles and Roles)",
        )
    return ok(
        name,
        f"{who} may apply the CRDs, the platform namespace, RBAC and admission policies, "
        f"and {roles} ({asked} access reviews)",
    )
