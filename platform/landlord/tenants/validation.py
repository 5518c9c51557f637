"""Rules a Tenant must satisfy before the operator writes anything.

Each returns a :class:`Refusal` (a condition reason and a message a platform
engineer can act on) or None. Refusals are configuration errors: the Tenant is
Stalled until someone changes it (or the conflicting object).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from landlord.api import reasons
from landlord.api.tenant import Tenant, reserved_namespaces, taken_namespaces


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why a Tenant cannot be provisioned as written."""

    reason: str
    message: str


def reserved(tenant: Tenant, platform_namespace: str) -> Refusal | None:
    """Namespaces no tenant may have: ``kube-*``, ``default``, the platform namespace."""
    bad = reserved_namespaces(tenant.namespaces, platform_namespace)
    if not bad:
        return None
    return Refusal(
        reasons.RESERVED_NAMESPACE,
        f"namespace(s) {', '.join(bad)} are reserved for the platform "
        f"(kube-*, default, {platform_namespace}); choose other names in spec.namespaces",
    )


def roles(tenant: Tenant, allowed: Collection[str]) -> Refusal | None:
    """``ownerRole``/``reconcilerRole`` naming a ClusterRole the operator may not bind."""
    named = {"ownerRole": tenant.spec.owner_role, "reconcilerRole": tenant.spec.reconciler_role}
    bad = [f"{field} {role}" for field, role in named.items() if role not in allowed]
    if not bad:
        return None
    return Refusal(
        reasons.ROLE_NOT_ALLOWED,
        f"{', '.join(bad)}: the operator binds only the ClusterRoles "
        f"{', '.join(sorted(allowed))} (LANDLORD_TENANTS__ROLES, the chart's rbac.tenantRoles); "
        "use one of them or ask the platform team to allow it",
    )


def pod_security(tenant: Tenant, allowed: Collection[str]) -> Refusal | None:
    """``podSecurity`` at a level the operator may not give a namespace."""
    if tenant.spec.pod_security in allowed:
        return None
    return Refusal(
        reasons.POD_SECURITY_NOT_ALLOWED,
        f"podSecurity {tenant.spec.pod_security}: the operator gives tenant namespaces only "
        f"{', '.join(sorted(allowed))} (LANDLORD_TENANTS__POD_SECURITY_LEVELS, the chart's "
        "rbac.podSecurityLevels); use one of them or ask the platform team to allow it",
    )


def conflicts(tenant: Tenant, owners: Mapping[str, str | None]) -> Refusal | None:
    """Namespaces that exist and are not this tenant's.

    ``owners`` maps each existing namespace to its ``landlord.dev/tenant`` label
    (None when unlabelled, i.e. not made by Landlord).
    """
    taken = taken_namespaces(tenant.name, tenant.namespaces, owners)
    if not taken:
        return None
    listed = "; ".join(f"{ns} ({why})" for ns, why in taken.items())
    return Refusal(
        reasons.NAMESPACE_CONFLICT,
        f"namespace(s) {listed} cannot be adopted; remove them from "
        "spec.namespaces or free them first",
    )
