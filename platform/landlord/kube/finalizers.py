"""Adding and removing one finalizer on an object, as every Landlord reconciler does.

Both writes carry the body's ``resourceVersion``: a finalizer list read from a
stale body must not overwrite one changed since (the apiserver refuses with a
conflict, and the reconcile is retried). Removing from an object already gone
is fine: that is what removing a finalizer is for.
"""

from __future__ import annotations

from typing import Any

from landlord import errors
from landlord.kube.client import Kube


def add(kube: Kube, body: dict[str, Any], finalizer: str) -> None:
    """Add ``finalizer`` to the object ``body`` unless it is there."""
    present = list(body["metadata"].get("finalizers") or [])
    if finalizer not in present:
        _patch(kube, body, [*present, finalizer])


def remove(kube: Kube, body: dict[str, Any], finalizer: str) -> None:
    """Remove ``finalizer`` from the object ``body`` (an object already gone is fine)."""
    rest = [f for f in body["metadata"].get("finalizers") or [] if f != finalizer]
    try:
        _patch(kube, body, rest)
    except errors.ApiError as error:
        if not error.not_found:
            raise


def _patch(kube: Kube, body: dict[str, Any], finalizers: list[str]) -> None:
    metadata = body["metadata"]
    kube.merge_patch(
        body["apiVersion"],
        body["kind"],
        metadata["name"],
        {"metadata": {"finalizers": finalizers, "resourceVersion": metadata["resourceVersion"]}},
        metadata.get("namespace"),
    )
