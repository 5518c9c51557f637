"""When a committed change is in place: the Tenant carries the request and is Ready, or is gone."""

from __future__ import annotations

import time
from typing import Any

from landlord import api, kube, telemetry
from landlord.api import conditions, labels
from landlord.api import tenant as tenant_api

TENANT = tenant_api.KIND
WAIT_POLL = 0.5


def ready_for(body: dict[str, Any] | None, request_id: str | None) -> tuple[bool, str]:
    """Whether the Tenant ``body`` is Ready for ``request_id`` (any request: None), and why not."""
    if body is None:
        return False, "the Tenant is not in the cluster yet (the platform sync applies the commit)"
    annotations = body["metadata"].get("annotations") or {}
    if request_id is not None and annotations.get(labels.REQUEST_ID) != request_id:
        return False, "the platform sync has not applied the commit yet"
    ready = conditions.get((body.get("status") or {}).get("conditions") or [], conditions.READY)
    if not ready:
        return False, "the Tenant has no Ready condition yet"
    if conditions.ready_at_generation(body):
        return True, "Ready"
    return False, f"{ready.get('reason')}: {ready.get('message')}"


def wait(
    kube_client: kube.Kube, name: str, request_id: str | None, operation: str, timeout: float
) -> tuple[bool, dict[str, Any] | None, str]:
    """Until the Tenant carries this request and is Ready (or is gone, for a delete)."""
    deadline = time.monotonic() + timeout
    with telemetry.span("api.wait", {"landlord.tenant": name}):
        while True:
            body = kube_client.get(api.API_VERSION, TENANT, name)
            if operation == "delete":
                if body is None:
                    return True, None, "offboarded"
                message = "the Tenant is still being offboarded"
            else:
                ready, message = ready_for(body, request_id)
                if ready:
                    return True, (body or {}).get("status"), "Ready"
            if time.monotonic() >= deadline:
                return False, (body or {}).get("status"), f"not done in time: {message}"
            time.sleep(WAIT_POLL)
