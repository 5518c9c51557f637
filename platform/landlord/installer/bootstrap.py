"""``landlord bootstrap``: the platform repository's GitRepository and Kustomization.

Both are named ``platform`` and live in the platform namespace; the
Kustomization has no ``serviceAccountName``, which — in the platform namespace
only — means the operator's own identity: the one privileged sync, the way the
platform team's ``tenants/`` folder becomes Tenant objects.
"""

from __future__ import annotations

from typing import Any

from landlord import api
from landlord.api import labels
from landlord.kube import Kube

NAME = "platform"


def manifests(
    *,
    url: str,
    branch: str,
    path: str,
    platform_namespace: str,
    secret: str | None = None,
    interval: str = "1m",
) -> list[dict[str, Any]]:
    """The two objects bootstrap applies."""
    source: dict[str, Any] = {"url": url, "ref": {"branch": branch}, "interval": interval}
    if secret:
        source["secretRef"] = {"name": secret}
    return [
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": NAME, "namespace": platform_namespace},
            "spec": source,
        },
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": NAME, "namespace": platform_namespace},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": NAME},
                "path": path,
                "interval": "10m",
                "retryInterval": "10s",
                "prune": True,
            },
        },
    ]


def bootstrap(
    kube: Kube,
    *,
    url: str,
    branch: str,
    path: str,
    platform_namespace: str,
    secret: str | None = None,
) -> list[str]:
    """Apply the platform sync; returns what was applied."""
    applied = []
    for manifest in manifests(
        url=url, branch=branch, path=path, platform_namespace=platform_namespace, secret=secret
    ):
        kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
        applied.append(f"{manifest['kind']} {platform_namespace}/{NAME}")
    return applied
