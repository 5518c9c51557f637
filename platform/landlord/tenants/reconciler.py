"""Reconcile one Tenant: provision it (``provisioning``) or offboard it (``offboarding``).

Level-based: every call looks at the whole picture and converges it. This
module holds what surrounds both steps: the trace, the status write, the
onboarding lead time and the tenant metrics.

Runs with the operator's own identity: these are platform objects. A tenant's
own manifests are never applied here (the sync applies them as the tenant).
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable, Collection
from typing import Any

from landlord import api, kube, policy, telemetry
from landlord.api import cluster as cluster_api
from landlord.api import conditions, labels
from landlord.api import tenant as tenant_api
from landlord.kube import Kube
from landlord.kube import status as kube_status
from landlord.kube.fleet import Fleet
from landlord.policy import requests
from landlord.runtime.outcome import Outcome
from landlord.tenants import clusters, live, offboarding, provisioning, status
from landlord.tenants.features import Features
from landlord.tenants.liveindex import LiveIndex

# How many onboarding request ids to remember (each one's lead time is observed once).
LEAD_TIMES_REMEMBERED = 4096

# What an owner may ask the onboarding API about its Tenant (``api:create`` is nobody's:
# the Tenant does not exist yet).
OWNER_ACTIONS = ("api:get", "api:update", "api:delete", "api:reconcile")


def owner_subjects(owner: dict[str, Any]) -> list[str] | None:
    """The subjects of a caller who is only ``owner``, as the onboarding API builds them.

    ``Caller.subjects(owner=True)``: ``user:`` (a service account's user name for a
    ServiceAccount) or ``group:``, then ``role:tenant-owner``. None: not an owner entry.
    """
    kind, name = owner.get("kind"), owner.get("name")
    if not isinstance(name, str) or not name:
        return None
    if kind == "User":
        subject = f"user:{name}"
    elif kind == "Group":
        subject = f"group:{name}"
    elif kind == "ServiceAccount":
        namespace = owner.get("namespace")
        where = namespace if isinstance(namespace, str) and namespace else "default"
        subject = f"user:{kube.service_account_user(where, name)}"
    else:
        return None
    return [subject, "role:tenant-owner"]


def owner_requests(name: str, spec: dict[str, Any]) -> list[tuple[list[str], str, str]]:
    """``(subjects, action, object)`` of every onboarding API call an owner of ``name`` may make."""
    owners = spec.get("owners")
    found: list[tuple[list[str], str, str]] = []
    for owner in owners if isinstance(owners, list) else ():
        subjects = owner_subjects(owner) if isinstance(owner, dict) else None
        if subjects is not None:
            found.extend((subjects, action, f"tenants/{name}") for action in OWNER_ACTIONS)
    return found


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
        offboarding_deadline: float = offboarding.DEADLINE,
        roles: Collection[str] | None = None,
        pod_security_levels: Collection[str] | None = None,
        owns: Callable[[dict[str, Any]], bool] = lambda _: True,
        fleet: Fleet | None = None,
        live_index: LiveIndex | None = None,
        gate: policy.Gate | None = None,
    ) -> None:
        self.owns = owns  # whether a Tenant is this operator's shard's
        # Notes the owners' onboarding API requests in its recorder (policy diff --live).
        self.gate = gate
        self.kube = kube
        self.features = features
        self.platform_namespace = platform_namespace
        self.metrics = metrics
        self._ready: dict[str, bool] = {}
        self._again: set[str] = set()  # Ready, but a requeue has work left (not settled)
        self.origins = telemetry.Origins(trace_signer)
        self._lead_times_seen: dict[str, None] = {}  # insertion-ordered: oldest first
        # ``live_index``: the watches' view of what tenants have here (None: list it each time).
        objects = live.TenantObjects(kube, live_index)

        def provisioner(on: Kube, cluster: str = cluster_api.LOCAL) -> provisioning.Provisioner:
            """Writes the tenant's objects through ``on``; Events and warnings go home."""
            return provisioning.Provisioner(
                on,
                objects if on is kube else live.TenantObjects(on),
                features=features,
                platform_namespace=platform_namespace,
                origins=self.origins,
                metrics=metrics,
                roles=roles,
                pod_security_levels=pod_security_levels,
                home=kube,
                cluster=cluster,
            )

        self.provisioner = provisioner(kube)
        self.fleet = fleet or Fleet(kube, platform_namespace=platform_namespace)
        self.spread = clusters.Spread(
            kube, self.fleet, lambda member: provisioner(member.kube, member.name)
        )
        self.offboarder = offboarding.Offboarder(
            kube, objects, deadline=offboarding_deadline, elsewhere=self._leave_clusters
        )

    def reconcile(self, name: str) -> Outcome | None:
        """Bring Tenant ``name`` to its desired state; None when it no longer exists."""
        began = time.monotonic()
        body = self.kube.get(api.API_VERSION, tenant_api.KIND, name)
        if body is None or not self.owns(body):  # gone, or another shard's
            self._forget(name)
            self.origins.forget(name)
            return None
        annotations = body["metadata"].get("annotations") or {}
        traceparent = self.origins.trusted(tenant_api.KIND, body)  # only one the API signed
        parent, link = self.origins.parent_and_link(name, traceparent)
        # Before this reconcile: a change not yet in place.
        first = not conditions.ready_at_generation(body)
        with telemetry.span(
            "tenant.reconcile", {"landlord.tenant": name}, parent=parent, link=link
        ):
            if body["metadata"].get("deletionTimestamp"):
                result = self._offboarded(body)
            else:
                self._note_owners(name, body)
                result = self._spread(body, self.provisioner.provision(body))
            if result is not None:
                self._write_status(body, result)
                self._ready[name] = result.outcome.ready
                if result.outcome.requeue_after is None:
                    self._again.discard(name)
                else:
                    self._again.add(name)
            else:
                self._forget(name)
        outcome = None if result is None else result.outcome
        if outcome is not None and outcome.ready:
            self.origins.finished(name, traceparent)
            if first:
                self._lead_time(annotations)
        if self.metrics is not None:
            state = "gone" if outcome is None else ("ready" if outcome.ready else "not-ready")
            self.metrics.tenant_reconcile_seconds.labels(result=state).observe(
                time.monotonic() - began
            )
            self._publish_counts()
        return outcome

    def _note_owners(self, name: str, body: dict[str, Any]) -> None:
        """Record the API requests each owner may make; an owner removed since is dropped."""
        if self.gate is None or self.gate.recorder is None:
            return
        requests.decided("api")  # no owner left: none of the earlier ones stays
        spec = body.get("spec")
        for subjects, action, obj in owner_requests(name, spec if isinstance(spec, dict) else {}):
            self.gate.note("api", subjects, obj, action=action)

    def settled(self, name: str) -> bool:
        """Whether the last reconcile of ``name`` here ended Ready with nothing left to do."""
        return self._ready.get(name) is True and name not in self._again

    def _spread(self, body: dict[str, Any], local: status.Result) -> status.Result:
        """The local provisioning's result, with every other listed cluster provisioned too."""
        if not local.outcome.ready:
            return local  # refused or failed here: nothing is spread yet
        tenant = tenant_api.Tenant.from_object(body)
        placements = self.spread.reconcile(body, tenant)
        here = clusters.Placement(cluster_api.LOCAL, True, identity=self.fleet.local_identity())
        recorded = tuple(p.to_status() for p in (here, *placements))
        waiting = [p for p in placements if not p.ready]
        if not waiting:
            return dataclasses.replace(local, clusters=recorded)
        first = waiting[0]
        message = "; ".join(f"cluster {p.name}: {p.message}" for p in waiting)
        outcome = Outcome(False, first.reason, message[:2000], requeue_after=clusters.RETRY)
        return status.Result(outcome, local.namespaces, recorded)

    def _leave_clusters(self, body: dict[str, Any]) -> str | None:
        """Offboarding: every registered cluster first (None once nothing is left there)."""
        left = self.spread.leave_all(body)
        if not left:
            return None
        return "; ".join(f"cluster {p.name}: {p.message}" for p in left)

    def _offboarded(self, body: dict[str, Any]) -> status.Result | None:
        outcome = self.offboarder.offboard(body)
        return None if outcome is None else status.Result(outcome)

    def _lead_time(self, annotations: dict[str, str]) -> None:
        """An onboarding request's change is in place: how long it took since the request."""
        requested = annotations.get(labels.REQUEST_TIME)
        request_id = annotations.get(labels.REQUEST_ID) or ""
        if self.metrics is None or not requested or request_id in self._lead_times_seen:
            return
        try:
            since = datetime.datetime.fromisoformat(requested)
        except ValueError:
            return
        self._lead_times_seen[request_id] = None
        while len(self._lead_times_seen) > LEAD_TIMES_REMEMBERED:
            del self._lead_times_seen[next(iter(self._lead_times_seen))]
        elapsed = (datetime.datetime.now(datetime.UTC) - since).total_seconds()
        operation = annotations.get(labels.REQUEST_OPERATION, "create")
        self.metrics.onboarding_lead_time_seconds.labels(operation=operation).observe(
            max(elapsed, 0.0)
        )

    def _write_status(self, body: dict[str, Any], result: status.Result) -> None:
        metadata = body["metadata"]
        new = status.render(
            result.outcome,
            namespaces=result.namespaces,
            generation=int(metadata.get("generation") or 1),
            existing=body.get("status") or {},
            clusters=result.clusters,
        )
        requested = (metadata.get("annotations") or {}).get(labels.REQUESTED_AT)
        if requested:
            new["lastHandledReconcileAt"] = requested
        kube_status.patch_if_changed(self.kube, body, new)

    def _forget(self, name: str) -> None:
        self._ready.pop(name, None)
        self._again.discard(name)
        self.offboarder.forget(name)

    def _publish_counts(self) -> None:
        if self.metrics is None:
            return
        ready = sum(self._ready.values())
        self.metrics.tenants.labels(ready="True").set(ready)
        self.metrics.tenants.labels(ready="False").set(len(self._ready) - ready)
