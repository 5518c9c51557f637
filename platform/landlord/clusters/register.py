"""``landlord cluster register``: a Cluster and its kubeconfig Secret, from a file.

The file is checked first with the operator's own rules (:func:`landlord.kube.remote.parse`):
a kubeconfig it would refuse is never stored.
"""

from __future__ import annotations

import base64
import pathlib
from typing import Any

from landlord import api
from landlord.api import cluster as cluster_api
from landlord.api import labels
from landlord.kube import Kube, remote


def secret_name(cluster: str) -> str:
    return f"cluster-{cluster}-kubeconfig"


def manifests(
    name: str, kubeconfig: bytes, *, platform_namespace: str, interval: str | None = None
) -> list[dict[str, Any]]:
    """The Secret and the Cluster that register ``kubeconfig`` as cluster ``name``.

    Raises KubeconfigError (naming the refused field) before anything is written.
    """
    if name == cluster_api.LOCAL:
        raise ValueError("'local' names the operator's own cluster and cannot be registered")
    target = remote.parse(kubeconfig)
    document = remote.yaml_of(target)  # only the fields Landlord uses are stored
    secret = secret_name(name)
    spec: dict[str, Any] = {"kubeConfig": {"secretRef": {"name": secret}}}
    if interval:
        spec["interval"] = interval
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": secret,
                "namespace": platform_namespace,
                "labels": {labels.PREFIX + "cluster": name},
            },
            "data": {cluster_api.DEFAULT_KEY: base64.b64encode(document).decode()},
        },
        {
            "apiVersion": api.API_VERSION,
            "kind": cluster_api.KIND,
            "metadata": {"name": name, "namespace": platform_namespace},
            "spec": spec,
        },
    ]


def register(
    kube: Kube,
    name: str,
    path: pathlib.Path,
    *,
    platform_namespace: str,
    interval: str | None = None,
) -> list[dict[str, Any]]:
    """Apply the Secret and the Cluster; the stored objects."""
    wanted = manifests(
        name, path.read_bytes(), platform_namespace=platform_namespace, interval=interval
    )
    return apply(kube, wanted)


def apply(kube: Kube, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Server-side apply what :func:`manifests` made; the stored objects."""
    return [kube.apply(m, field_manager=labels.FIELD_MANAGER, force=True) for m in wanted]
