"""Reconcile one Tenant: provision, prune, offboard.

Level-based: every call looks at the whole picture and converges it.

Runs with the operator's own identity: these are platform objects. A tenant's
own manifests are never applied here (the sync applies them as the tenant).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from typing import Any

import pydantic

from landlord import api, errors, telemetry
from landlord.api import conditions, labels
from landlord.api.tenant import Tenant
from landlord.gitops.objects import contains
from landlord.kube import Kube, events
from landlord.tenants import desired, status, validation
from landlord.tenants.features import Features

log = logging.getLogger(__name__)

TENANT_KIND = "Tenant"
SYNC_KINDS = {"GitRepository", "Kustomization"}
STUCK_AFTER = 60.0  # seconds a namespace may take to terminate before we say so
WAIT_INTERVAL = 2.0


def _format_validation(error: pydantic.ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = "spec." + ".".join(str(part) for part in item["loc"]) if item["loc"] else "spec"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class TenantReconciler:
    """Provisions and offboards Tenants through one Kubernetes connection."""

    def __init__(
        self,
        kube: Kube,
        *,
        features: Features,
        platform_namespace: str,
        metrics: telemetry.Metrics | None = None,
        trace_signer: telemetry.TraceSigner | None = None,
    ) -> None:
        self.kube = kube
        self.features = features
        self.platform_namespace = platform_namespace
        self.metrics = metrics
        self._ready: dict[str, bool] = {}
        self.origins = telemetry.Origins(trace_signer)
        self._lead_times_seen: set[str] = set()
        self._stuck_since: dict[str, float] = {}

    # -- entry point ---------------------------------------------------------

    def reconcile(self, name: str) -> status.Outcome | None:
        """Bring Tenant ``name`` to its desired state; None when it no longer exists."""
        began = time.monotonic()
        body = self.kube.get(api.API_VERSION, TENANT_KIND, name)
        if body is None:
            self._forget(name)
            self.origins.forget(name)
            return None
        annotations = body["metadata"].get("annotations") or {}
        traceparent = self.origins.trusted(TENANT_KIND, body)  # only one the API signed
        parent, link = self.origins.parent_and_link(name, traceparent)
        first = not self._was_ready(body)  # before this reconcile: a change not yet in place
        with telemetry.span(
            "tenant.reconcile", {"landlord.tenant": name}, parent=parent, link=link
        ):
            if body["metadata"].get("deletionTimestamp"):
                outcome = self._offboard(body)
            else:
                outcome = self._provision(body)
            if outcome is not None:
                self._write_status(body, outcome)
                self._ready[name] = outcome.ready
            else:
                self._forget(name)
        if outcome is not None and outcome.ready:
            self.origins.finished(name, traceparent)
            if first:
                self._lead_time(annotations)
        if self.metrics is not None:
            result = "gone" if outcome is None else ("ready" if outcome.ready else "not-ready")
            self.metrics.tenant_reconcile_seconds.labels(result=result).observe(
                time.monotonic() - began
            )
            self._publish_counts()
        return outcome

    def _lead_time(self, annotations: dict[str, str]) -> None:
        """An onboarding request's change is in place: how long it took since the request."""
        requested = annotations.get(labels.REQUEST_TIME)
        request_id = annotations.get(labels.REQUEST_ID)
        if self.metrics is None or not requested or request_id in self._lead_times_seen:
            return
        try:
            since = datetime.datetime.fromisoformat(requested)
        except ValueError:
            return
        self._lead_times_seen.add(request_id or "")
        elapsed = (datetime.datetime.now(datetime.UTC) - since).total_seconds()
        operation = annotations.get(labels.REQUEST_OPERATION, "create")
        self.metrics.onboarding_lead_time_seconds.labels(operation=operation).observe(
            max(elapsed, 0.0)
        )

    def settled(self, name: str) -> bool:
        """Whether the last reconcile of ``name`` in this process ended Ready."""
        return self._ready.get(name) is True

    # -- provisioning --------------------------------------------------------

    def _provision(self, body: dict[str, Any]) -> status.Outcome:
        try:
            tenant = Tenant.from_object(body)
        except pydantic.ValidationError as error:
            return status.Outcome(False, "InvalidSpec", _format_validation(error), stalled=True)
        self._ensure_finalizer(body)
        refusal = validation.reserved(tenant, self.platform_namespace)
        if refusal is None:
            refusal = validation.conflicts(tenant, self._namespace_owners(tenant.namespaces))
        if refusal is not None:
            self._event_on_change(body, refusal.reason, refusal.message, warning=True)
            # A conflicting namespace may be freed: look again now and then.
            return status.Outcome(
                False, refusal.reason, refusal.message, stalled=True, requeue_after=60.0
            )
        wanted = desired.desired_objects(
            tenant, self.features, platform_namespace=self.platform_namespace
        )
        trusted = self.origins.trusted(TENANT_KIND, body)
        for manifest in wanted:  # the request's trace goes on only if the API signed it
            if labels.TRACEPARENT in (manifest["metadata"].get("annotations") or {}):
                self.origins.stamp(manifest["kind"], manifest, trusted)
        live = self._live(tenant.name)
        was_ready = self._was_ready(body)
        try:
            changed = self._apply(tenant, wanted, live)
            wanted_keys = {desired.ObjectKey.of(obj) for obj in wanted}
            pruned = self._prune(
                tenant, (obj for key, obj in live.items() if key not in wanted_keys)
            )
        except _LostNamespaceError as lost:
            self._event_on_change(body, lost.refusal.reason, lost.refusal.message, warning=True)
            return status.Outcome(
                False, lost.refusal.reason, lost.refusal.message, stalled=True, requeue_after=60.0
            )
        except errors.ApiError as error:
            message = f"provisioning failed: {error.message}"
            self._event_on_change(body, "ProvisioningFailed", message, warning=True)
            raise errors.RetryableError(message) from error
        if was_ready and changed:
            self._record_drift(body, changed)
        if pruned:
            events.record(
                self.kube,
                body,
                reason="Pruned",
                message="removed " + ", ".join(str(key) for key in pruned),
            )
        message = f"{len(tenant.namespaces)} namespace(s) provisioned"
        if not was_ready:
            events.record(self.kube, body, reason="Provisioned", message=message)
        return status.Outcome(True, "Provisioned", message, namespaces=tenant.namespaces)

    def _apply(
        self,
        tenant: Tenant,
        wanted: list[desired.Manifest],
        live: dict[desired.ObjectKey, desired.Manifest],
    ) -> list[desired.ObjectKey]:
        changed = []
        for manifest in wanted:
            key = desired.ObjectKey.of(manifest)
            current = live.get(key)
            if current is not None and contains(current, manifest):
                continue
            if key.kind == "Namespace" and current is None:
                self._claim_namespace(tenant, manifest)
            else:
                self.kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
            changed.append(key)
        return changed

    def _claim_namespace(self, tenant: Tenant, manifest: desired.Manifest) -> None:
        """Create a namespace; a create is atomic, so two tenants cannot both win it."""
        try:
            self.kube.create(manifest)
        except errors.ApiError as error:
            if not error.conflict:
                raise
            name = manifest["metadata"]["name"]
            owners = self._namespace_owners([name])
            refusal = validation.conflicts(tenant, owners)
            if refusal is not None:
                raise _LostNamespaceError(refusal) from error
            self.kube.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)

    def _prune(self, tenant: Tenant, stale: Iterable[desired.Manifest]) -> list[desired.ObjectKey]:
        pruned = []
        for obj in sorted(stale, key=_teardown_order):
            key = desired.ObjectKey.of(obj)
            if key.kind == "Namespace" and tenant.spec.deletion_policy == "Orphan":
                self._release_namespace(key.name)
            else:
                self.kube.delete(key.api_version, key.kind, key.name, key.namespace or None)
            pruned.append(key)
        return pruned

    def _record_drift(self, body: dict[str, Any], changed: list[desired.ObjectKey]) -> None:
        if self.metrics is not None:
            for key in changed:
                self.metrics.tenant_drift_repairs_total.labels(kind=key.kind).inc()
        events.record(
            self.kube,
            body,
            reason="DriftRepaired",
            message="restored " + ", ".join(str(key) for key in changed),
        )
        log.info(
            "drift repaired",
            extra={"tenant": body["metadata"]["name"], "objects": [str(key) for key in changed]},
        )

    # -- offboarding ---------------------------------------------------------

    def _offboard(self, body: dict[str, Any]) -> status.Outcome | None:
        name = body["metadata"]["name"]
        if labels.FINALIZER not in (body["metadata"].get("finalizers") or []):
            return None  # not ours to hold up
        policy = (body.get("spec") or {}).get("deletionPolicy", "Delete")
        live = self._live(name)
        if not self._stuck_since.get(name):
            events.record(
                self.kube,
                body,
                reason="Offboarding",
                message=f"removing everything of tenant {name} (deletionPolicy {policy})",
            )
            self._stuck_since[name] = time.monotonic()

        syncs = [obj for key, obj in live.items() if key.kind in SYNC_KINDS]
        for obj in syncs:
            key = desired.ObjectKey.of(obj)
            self.kube.delete(key.api_version, key.kind, key.name, key.namespace)
        remaining = [
            desired.ObjectKey.of(obj) for obj in syncs if self._exists(desired.ObjectKey.of(obj))
        ]
        if remaining:
            return self._waiting(
                body,
                "waiting for "
                + ", ".join(map(str, remaining))
                + " to finish (their finalizers prune the workloads)",
            )

        access = [
            obj
            for key, obj in live.items()
            if key.kind not in SYNC_KINDS and key.kind != "Namespace"
        ]
        for obj in sorted(access, key=_teardown_order):
            key = desired.ObjectKey.of(obj)
            self.kube.delete(key.api_version, key.kind, key.name, key.namespace or None)

        namespaces = [key.name for key in live if key.kind == "Namespace"]
        if policy == "Orphan":
            for ns in namespaces:
                self._release_namespace(ns)
        else:
            for ns in namespaces:
                self.kube.delete("v1", "Namespace", ns)
            left = [ns for ns in namespaces if self.kube.get("v1", "Namespace", ns) is not None]
            if left:
                return self._waiting(
                    body,
                    "waiting for namespace(s) " + ", ".join(left) + " to terminate",
                    stuck_detail=left,
                )
        self._remove_finalizer(body)
        self._stuck_since.pop(name, None)
        return None

    def _waiting(
        self, body: dict[str, Any], message: str, stuck_detail: list[str] | None = None
    ) -> status.Outcome:
        name = body["metadata"]["name"]
        waited = time.monotonic() - self._stuck_since.get(name, time.monotonic())
        if stuck_detail and waited > STUCK_AFTER:
            detail = []
            for ns in stuck_detail:
                obj = self.kube.get("v1", "Namespace", ns) or {}
                for cond in (obj.get("status") or {}).get("conditions") or []:
                    if cond.get("status") == "True":
                        detail.append(f"{ns}: {cond.get('message')}")
            message = f"{message} for {int(waited)}s; " + ("; ".join(detail) or "no reason given")
            self._event_on_change(body, "NamespaceStuck", message, warning=True)
        return status.Outcome(
            False, "Offboarding", message, reconciling=True, requeue_after=WAIT_INTERVAL
        )

    # -- helpers -------------------------------------------------------------

    def _live(self, tenant: str) -> dict[desired.ObjectKey, desired.Manifest]:
        """Every object of the managed kinds that carries this tenant's label."""
        selector = f"{labels.TENANT}={tenant}"
        found: dict[desired.ObjectKey, desired.Manifest] = {}
        for api_version, kind in desired.MANAGED_KINDS:
            try:
                items = self.kube.list_objects(api_version, kind, label_selector=selector)
            except errors.ApiError as error:
                if error.not_found and kind in SYNC_KINDS:
                    continue  # their CRDs are not installed: nothing of theirs to find
                raise
            for item in items:
                found[desired.ObjectKey.of(item)] = item
        return found

    def _exists(self, key: desired.ObjectKey) -> bool:
        return self.kube.get(key.api_version, key.kind, key.name, key.namespace or None) is not None

    def _namespace_owners(self, names: Iterable[str]) -> dict[str, str | None]:
        owners: dict[str, str | None] = {}
        for ns in names:
            obj = self.kube.get("v1", "Namespace", ns)
            if obj is not None:
                owners[ns] = (obj["metadata"].get("labels") or {}).get(labels.TENANT)
        return owners

    def _release_namespace(self, name: str) -> None:
        """Keep the namespace and its workloads, but no longer as a tenant's."""
        self.kube.merge_patch(
            "v1", "Namespace", name, {"metadata": {"labels": {labels.TENANT: None}}}
        )

    def _ensure_finalizer(self, body: dict[str, Any]) -> None:
        metadata = body["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if labels.FINALIZER in finalizers:
            return
        self.kube.merge_patch(
            api.API_VERSION,
            TENANT_KIND,
            metadata["name"],
            {
                "metadata": {
                    "finalizers": [*finalizers, labels.FINALIZER],
                    "resourceVersion": metadata["resourceVersion"],
                }
            },
        )

    def _remove_finalizer(self, body: dict[str, Any]) -> None:
        metadata = body["metadata"]
        rest = [f for f in metadata.get("finalizers") or [] if f != labels.FINALIZER]
        try:
            self.kube.merge_patch(
                api.API_VERSION,
                TENANT_KIND,
                metadata["name"],
                {"metadata": {"finalizers": rest, "resourceVersion": metadata["resourceVersion"]}},
            )
        except errors.ApiError as error:
            if not error.not_found:
                raise

    def _was_ready(self, body: dict[str, Any]) -> bool:
        current = body.get("status") or {}
        ready = conditions.get(current.get("conditions") or [], conditions.READY)
        return bool(
            ready
            and ready.get("status") == "True"
            and ready.get("observedGeneration") == body["metadata"].get("generation")
        )

    def _event_on_change(
        self, body: dict[str, Any], reason: str, message: str, *, warning: bool = False
    ) -> None:
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], conditions.READY)
        if ready is None or ready.get("reason") != reason or ready.get("message") != message:
            events.record(self.kube, body, reason=reason, message=message, warning=warning)

    def _write_status(self, body: dict[str, Any], outcome: status.Outcome) -> None:
        existing = body.get("status") or {}
        namespaces = outcome.namespaces or tuple(existing.get("namespaces") or ())
        home = namespaces[0] if namespaces else None
        new = status.render(
            outcome,
            generation=int(body["metadata"].get("generation") or 1),
            existing=existing,
            home_namespace=home,
        )
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        if requested:
            new["lastHandledReconcileAt"] = requested
        if not status.differs(existing, new):
            return
        try:
            self.kube.merge_patch(
                api.API_VERSION, TENANT_KIND, body["metadata"]["name"], {"status": new}, status=True
            )
        except errors.ApiError as error:
            if not error.not_found:
                raise

    def _forget(self, name: str) -> None:
        self._ready.pop(name, None)
        self._stuck_since.pop(name, None)

    def _publish_counts(self) -> None:
        if self.metrics is None:
            return
        ready = sum(self._ready.values())
        self.metrics.tenants.labels(ready="True").set(ready)
        self.metrics.tenants.labels(ready="False").set(len(self._ready) - ready)


class _LostNamespaceError(Exception):
    """Another tenant claimed a namespace first."""

    def __init__(self, refusal: validation.Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _teardown_order(obj: desired.Manifest) -> int:
    order = [kind for _, kind in desired.MANAGED_KINDS]
    return -order.index(obj["kind"])
