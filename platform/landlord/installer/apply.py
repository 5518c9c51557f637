"""``install``: apply the CRDs, wait until they are served, then the platform objects.

Everything is server-side applied with the ``landlord`` field manager, so a
second install is a no-op and an upgrade changes only what changed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from landlord import errors
from landlord.api import crds, labels
from landlord.installer import admission
from landlord.installer.rbac import TENANT_ROLES, manifests
from landlord.kube import Kube


def install(
    kube: Kube,
    *,
    platform_namespace: str,
    tenant_roles: Sequence[str] = TENANT_ROLES,
    pod_security_levels: Sequence[str] = admission.POD_SECURITY_LEVELS,
    timeout: float = 30.0,
) -> list[str]:
    """Apply the CRDs (and wait until they are served), then the platform objects.

    ``tenant_roles``: the ClusterRoles the operator may bind for Tenants.
    """
    applied = []
    definitions = crds.load()
    for crd in definitions:
        kube.apply(crd, field_manager=labels.FIELD_MANAGER, force=True)
        applied.append(f"CustomResourceDefinition {crd['metadata']['name']}")
    deadline = time.monotonic() + timeout
    for crd in definitions:
        name = crd["metadata"]["name"]
        while not _established(kube, name):
            if time.monotonic() > deadline:
                raise errors.RetryableError(f"CRD {name} was not Established in {timeout}s")
            time.sleep(0.1)
    for manifest in [
        *manifests(platform_namespace, tenant_roles),
        *admission.manifests(platform_namespace, pod_security_levels),
    ]:
        kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
        applied.append(f"{manifest['kind']} {manifest['metadata']['name']}")
    return applied


def _established(kube: Kube, name: str) -> bool:
    crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    for condition in ((crd or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Established" and condition.get("status") == "True":
            return True
    return False
