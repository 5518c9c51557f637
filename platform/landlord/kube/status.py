"""Status writes and failure Events, shared by every Landlord reconciler."""

from __future__ import annotations

from typing import Any

from landlord import errors
from landlord.api import conditions
from landlord.kube import events
from landlord.kube.client import Kube


def warn_on_change(kube: Kube, body: dict[str, Any], reason: str, message: str) -> None:
    """A Warning Event, unless the object already reports this reason and message."""
    if not conditions.reports(body, reason, message):
        events.record(kube, body, reason=reason, message=message, warning=True)


def patch_if_changed(kube: Kube, body: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge-patch ``status`` with ``new`` when any field differs; ignore a vanished object."""
    existing = body.get("status") or {}
    if all(existing.get(key) == value for key, value in new.items()):
        return
    metadata = body["metadata"]
    try:
        kube.merge_patch(
            body["apiVersion"],
            body["kind"],
            metadata["name"],
            {"status": new},
            metadata.get("namespace"),
            status=True,
        )
    except errors.ApiError as error:
        if not error.not_found:
            raise
