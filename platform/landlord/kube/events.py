"""Kubernetes Events about Landlord's objects (``kubectl describe`` shows them)."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

from landlord import errors
from landlord.kube.client import Kube

COMPONENT = "landlord"


def record(
    kube: Kube,
    involved: dict[str, Any],
    *,
    reason: str,
    message: str,
    warning: bool = False,
) -> None:
    """Post one core/v1 Event about ``involved`` (an object as a dict).

    Events about cluster-scoped objects go to the ``default`` namespace, as
    kubectl expects. Failing to post an Event never fails the caller's work.
    """
    metadata = involved.get("metadata", {})
    namespace = metadata.get("namespace") or "default"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{metadata.get('name', 'object')}.", "namespace": namespace},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": metadata.get("name"),
            "namespace": metadata.get("namespace"),
            "uid": metadata.get("uid"),
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    # Best effort: an Event must not break a reconcile.
    with contextlib.suppress(errors.ApiError):
        kube.create(event)


def list_for(kube: Kube, kind: str, name: str, namespace: str = "default") -> list[dict[str, Any]]:
    """Events about one object, oldest first."""
    items = kube.list_objects("v1", "Event", namespace=namespace)
    mine = [
        item
        for item in items
        if item.get("involvedObject", {}).get("kind") == kind
        and item.get("involvedObject", {}).get("name") == name
    ]
    return sorted(mine, key=lambda item: item.get("lastTimestamp") or "")
