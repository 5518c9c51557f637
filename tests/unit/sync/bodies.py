"""A Kustomization as the watch delivers it once it is Ready at its generation."""

from __future__ import annotations

from typing import Any

from landlord import api
from landlord.api import labels


def ready_kustomization(**status: Any) -> dict[str, Any]:
    """``team-a/app``, Ready at generation 2 with revision ``main@sha1:1``; ``status`` overrides."""
    return {
        "apiVersion": api.API_VERSION,
        "kind": "Kustomization",
        "metadata": {
            "name": "app",
            "namespace": "team-a",
            "generation": 2,
            "finalizers": [labels.FINALIZER],
        },
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "app"}, "interval": "1h"},
        "status": {
            "observedGeneration": 2,
            "lastAppliedRevision": "main@sha1:1",
            "lastAttemptedRevision": "main@sha1:1",
            "conditions": [{"type": "Ready", "status": "True"}],
            **status,
        },
    }
