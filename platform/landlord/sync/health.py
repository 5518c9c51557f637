"""Health of applied objects, with kstatus-style rules per kind."""

from __future__ import annotations

from typing import Any


def _generation_caught_up(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    observed = status.get("observedGeneration")
    return observed is None or observed >= (obj["metadata"].get("generation") or 0)


def check(obj: dict[str, Any]) -> tuple[bool, str]:
    """(healthy, why not) for one live object."""
    kind = obj.get("kind")
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    if not _generation_caught_up(obj):
        return False, "the controller has not observed the latest generation yet"
    if kind == "Deployment":
        wanted = spec.get("replicas", 1)
        for field in ("updatedReplicas", "availableReplicas", "readyReplicas"):
            if (status.get(field) or 0) < wanted:
                return False, f"{status.get(field) or 0}/{wanted} replicas {field[:-8]}"
        return True, ""
    if kind == "StatefulSet":
        wanted = spec.get("replicas", 1)
        if (status.get("readyReplicas") or 0) < wanted or (
            status.get("updatedReplicas") or 0
        ) < wanted:
            return False, f"{status.get('readyReplicas') or 0}/{wanted} replicas ready"
        return True, ""
    if kind == "DaemonSet":
        wanted = status.get("desiredNumberScheduled") or 0
        if (status.get("numberAvailable") or 0) < wanted or (
            status.get("updatedNumberScheduled") or 0
        ) < wanted:
            return False, f"{status.get('numberAvailable') or 0}/{wanted} pods available"
        return True, ""
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if kind == "Job":
        if (conditions.get("Failed") or {}).get("status") == "True":
            return False, f"job failed: {conditions['Failed'].get('message', '')}"
        return (conditions.get("Complete") or {}).get("status") == "True", "job not complete"
    if "Ready" in conditions:
        ready = conditions["Ready"]
        return ready.get("status") == "True", ready.get("message") or "not Ready"
    return True, ""
