"""Kubernetes Events about Landlord's objects (``kubectl describe`` shows them)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable
from typing import Any

from landlord import errors, telemetry
from landlord.api import labels
from landlord.kube.client import Kube

COMPONENT = "landlord"


# Called with every Event this process posts (the notifications' dispatcher): they
# must return at once and never raise.
Listener = Callable[[dict[str, Any], str, str, bool, dict[str, str]], None]
_LISTENERS: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Hear every Event posted from now on; returns the way to stop."""
    _LISTENERS.append(listener)
    return lambda: _LISTENERS.remove(listener) if listener in _LISTENERS else None


def record(
    kube: Kube,
    involved: dict[str, Any],
    *,
    reason: str,
    message: str,
    warning: bool = False,
    annotations: dict[str, str] | None = None,
) -> None:
    """Post one core/v1 Event about ``involved`` (an object as a dict).

    Events about cluster-scoped objects go to the ``default`` namespace, as
    kubectl expects. Failing to post an Event never fails the caller's work.
    ``annotations`` (the revision it is about, say) go on the Event and to listeners.
    """
    for listener in list(_LISTENERS):
        with contextlib.suppress(Exception):
            listener(involved, reason, message, warning, dict(annotations or {}))
    trace = telemetry.trace_id()
    if trace:  # the reconcile's trace: `landlord trace` and `landlord events -o wide` show it
        annotations = {**(annotations or {}), labels.TRACE_ID: trace}
    metadata = involved.get("metadata", {})
    namespace = metadata.get("namespace") or "default"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{metadata.get('name', 'object')}.",
            "namespace": namespace,
            **({"annotations": dict(annotations)} if annotations else {}),
        },
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
