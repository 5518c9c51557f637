"""The audit trail: one trace from the API request to each object's apply, and the timeline."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from landlord import api
from landlord.api import conditions
from tests.helpers import eventually
from tests.onboarding.conftest import Api

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "traced"}}


def test_one_trace_from_the_request_to_the_apply_of_each_object(
    onboarding_api: Api, spans: InMemorySpanExporter
) -> None:
    name = onboarding_api.name("traced")
    onboarding_api.git.create(name, public=True)
    onboarding_api.git.commit(name, {"deploy/configmap.yaml": yaml.safe_dump(CONFIG_MAP)})
    spec = {
        "source": {"url": onboarding_api.git.url(name), "interval": "1m"},
        "sync": {"path": "./deploy", "interval": "1m"},
    }

    status, body, _ = onboarding_api.call(
        "POST", "/v1/tenants", onboarding_api.admin_token, {"name": name, "spec": spec}, wait=True
    )
    assert status == 201, body

    def synced() -> bool:
        sync = onboarding_api.kube.get(api.API_VERSION, "Kustomization", name, name) or {}
        return conditions.is_true((sync.get("status") or {}).get("conditions") or [], "Ready")

    eventually(synced, timeout=60, what=f"the Kustomization {name} Ready")
    trace_id = int(body["traceId"], 16)
    object_id = f"{name}_traced__ConfigMap"

    def chain() -> dict[str, list[ReadableSpan]] | None:
        found: dict[str, list[ReadableSpan]] = {}
        for span in spans.get_finished_spans():
            if span.context is not None and span.context.trace_id == trace_id:
                found.setdefault(span.name, []).append(span)
        return found if _applied(found, object_id) else None

    found = eventually(chain, timeout=30, what="the apply span in the request's trace")
    expected = {"api.request", "api.commit", "tenant.reconcile", "source.reconcile"}
    assert expected | {"sync.reconcile"} <= set(found), sorted(found)
    # Every span of the chain descends from the request's span, through its parents.
    by_id = {
        span.context.span_id: span for group in found.values() for span in group if span.context
    }
    request = found["api.request"][0]
    for name_ in ("api.commit", "tenant.reconcile", "source.reconcile", "sync.reconcile"):
        assert any(request in _ancestors(span, by_id) for span in found[name_]), name_
    apply = _applied(found, object_id)[0]
    assert any(ancestor.name == "sync.reconcile" for ancestor in _ancestors(apply, by_id))
    assert request in _ancestors(apply, by_id)

    audit = subprocess.run(
        [sys.executable, "-m", "landlord", "audit", "tenant", name],
        env={**os.environ, "KUBECONFIG": str(onboarding_api.kubeconfig), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert audit.returncode == 0, audit.stderr
    assert body["commit"][:12] in audit.stdout
    assert f"Onboard tenant {name}" in audit.stdout
    assert body["requestId"] in audit.stdout
    assert body["traceId"] in audit.stdout
    assert "Tenant Ready=True" in audit.stdout


def _applied(found: dict[str, list[ReadableSpan]], object_id: str) -> list[ReadableSpan]:
    return [
        span
        for span in found.get("sync.apply", [])
        if (span.attributes or {}).get("landlord.object") == object_id
    ]


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    found = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found.append(by_id[parent.span_id])
        parent = by_id[parent.span_id].parent
    return found
