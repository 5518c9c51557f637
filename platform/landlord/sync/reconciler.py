"""Reconcile one Kustomization: the sync pipeline, calling its named steps in order.

names and cross-namespace references (decided before anything they name is
read) → budget → identity → artifact → dependencies → build → validate →
kinds → apply (dry-run of everything that changed first, then staged
server-side apply) → inventory → prune → health → status. Each step lives in
``sync/steps`` and raises a :class:`SyncError` carrying its Ready reason.
Every request about tenant objects uses a client that impersonates the
Kustomization's service account; only a Kustomization in the platform
namespace may run with the operator's own identity.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import pathlib
from typing import Any

from landlord import api, policy, telemetry
from landlord.api import conditions, labels, reasons
from landlord.api import kustomization as model
from landlord.gitops import artifacts, durations
from landlord.gitops import budgets as budgets_mod
from landlord.gitops import sandbox as sandbox_mod
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.sync import depindex, healthwait, validate
from landlord.sync.drift import DriftTracker
from landlord.sync.failure import SyncError
from landlord.sync.finalize import Finalizer
from landlord.sync.inventory import Inventory
from landlord.sync.result import Result, Timing
from landlord.sync.scheduler import Scheduler
from landlord.sync.steps import (
    apply,
    build,
    dependencies,
    gatekeeper,
    health,
    prune,
    source,
    validation,
)
from landlord.sync.steps import status as status_step
from landlord.sync.steps.identity import Identity
from landlord.sync.watchcache import WatchCache

__all__ = ["KustomizationReconciler", "Result", "SyncError", "Timing"]

log = logging.getLogger(__name__)

KIND = model.KIND
# Threads for reads, dry-runs, applies and prunes (one executor for all reconciles);
# client-side pacing of one reconcile's writes and dry-runs (requests per second, burst).
WORKERS = 8
WRITE_RATE, WRITE_BURST = 400.0, 100


class KustomizationReconciler:
    """Applies Kustomizations' artifacts as their service accounts."""

    def __init__(
        self,
        kube: Kube,
        *,
        store: artifacts.ArtifactStore,
        platform_namespace: str,
        kustomize: pathlib.Path | None,
        sandbox: sandbox_mod.Sandbox,
        gate: policy.Gate,
        cluster: str = "local",
        metrics: telemetry.Metrics | None = None,
        drift: DriftTracker | None = None,
        namespaces: NamespaceLabels | None = None,
        workers: int = WORKERS,
        write_rate: float = WRITE_RATE,
        write_burst: int = WRITE_BURST,
        bounds: durations.Bounds | None = None,
        trace_signer: telemetry.TraceSigner | None = None,
        budgets: budgets_mod.Budgets | None = None,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.kube = kube
        self.gate = gate
        self.store = store
        self.platform_namespace = platform_namespace
        self.kustomize = kustomize
        self.sandbox = sandbox
        self.metrics = metrics
        self.bounds = bounds or durations.Bounds()
        self.namespaces = namespaces if namespaces is not None else NamespaceLabels()
        self.drift = drift if drift is not None else DriftTracker()
        self.origins = telemetry.Origins(trace_signer)
        # The fan-out of every reconcile runs here; its tasks never submit tasks, so
        # it must not be the executor that runs reconciles themselves.
        self._owns_executor = executor is None
        self.executor = executor or concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="sync-io"
        )
        self.cache = WatchCache()
        self.scheduler = Scheduler()
        self.index = depindex.DependencyIndex()
        self.identity = Identity(kube, platform_namespace=platform_namespace, cluster=cluster)
        self.gatekeeper = gatekeeper.Gatekeeper(
            kube,
            gate=gate,
            platform_namespace=platform_namespace,
            namespaces=self.namespaces,
            budgets=budgets or budgets_mod.Budgets(),
        )
        self.applier = apply.Applier(self.executor, write_rate=write_rate, write_burst=write_burst)
        self.finalizer = Finalizer(
            kube,
            identity=self.identity,
            executor=self.executor,
            cluster=self.identity.cluster_id,
            bounds=self.bounds,
        )

    # -- entry point ---------------------------------------------------------

    def reconcile(self, key: str) -> Outcome | None:
        """Sync ``namespace/name``; None when the Kustomization is gone."""
        namespace, _, name = key.partition("/")
        quiet = self.quiet(key)
        if quiet is not None:
            return quiet
        body = self.kube.get(api.API_VERSION, KIND, name, namespace)
        if body is None:
            self.forget(key)
            return None
        if body["metadata"].get("deletionTimestamp"):
            self.drift.forget(key)  # being deleted: our own prune is not drift
            return self.finalizer.finalize(body)
        self.finalizer.ensure(body)
        raw = body.get("spec") or {}
        status = body.get("status") or {}
        if raw.get("suspend"):
            return Outcome(skipped=True)
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        try:
            timing = Timing.of(raw, self.bounds)
        except durations.OutOfBoundsError as error:
            return self._refuse_durations(key, body, error, requested)
        # Names and cross-namespace edges are decided before anything is read with
        # the operator's identity: a refused sync learns nothing of what it names.
        spec = self.gatekeeper.admit(key, body)
        found = None if isinstance(spec, SyncError) else source.read(self.kube, namespace, spec)
        revision = source.revision_of(found)
        fresh = self.scheduler.unchanged(
            key, body, revision, policy_version=self.gate.version
        ) and not self.drift.drifted(key)
        wait = self.scheduler.not_due(key, fresh)
        if wait is not None:
            return Outcome(skipped=True, requeue_after=wait)
        # A health wait of this very revision and spec: look at health again, apply nothing.
        recheck = fresh and bool(status.get(healthwait.DEADLINE))
        result = Result(revision=revision or "")
        self.scheduler.deciding(key, self.gate.version)
        drifted = self.drift.take(key)
        traceparent = self.origins.trusted(KIND, body)  # only one Landlord signed
        parent, link = self.origins.parent_and_link(key, traceparent)
        with telemetry.span(
            "sync.reconcile", {"landlord.kustomization": key}, parent=parent, link=link
        ):
            try:
                if isinstance(spec, SyncError):
                    raise spec  # a bad name or a denied edge: nothing of the target was read
                if recheck:
                    self._recheck_health(body, spec, result, timing)
                else:
                    self._run(body, spec, found, result, timing)
                outcome = Outcome(True, reasons.SUCCEEDED, f"Applied revision: {result.revision}")
            except SyncError as error:
                outcome = Outcome(False, error.reason, error.message, stalled=error.stalled)
        if outcome.ready and result.health_deadline is not None:
            outcome = Outcome(
                False,
                reasons.PROGRESSING,
                f"applied revision {result.revision}; waiting until {result.health_deadline} "
                f"for health: {healthwait.summary(result.unhealthy)}",
            )
        if outcome.ready:
            self.origins.finished(key, traceparent)
        if drifted:
            restored = {entry.id for entry in result.changed}
            result.repaired = [d for d in drifted if d.entry.id in restored]
        delay = self.scheduler.after(
            key, ready=outcome.ready, health_deadline=result.health_deadline, timing=timing
        )
        self._write_status(body, outcome, result, requested)
        return dataclasses.replace(outcome, requeue_after=None if outcome.stalled else delay)

    def close(self) -> None:
        """Stop the executor, if this reconciler created it (a shared one is its owner's)."""
        if self._owns_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def forget(self, key: str) -> None:
        """A deleted Kustomization: every per-object map lets go of it."""
        self.scheduler.forget(key)
        self.gatekeeper.forget(key)
        self.index.forget(key)
        self.drift.forget(key)
        self.origins.forget(key)

    # -- the pipeline --------------------------------------------------------

    def _run(
        self,
        body: dict[str, Any],
        spec: model.KustomizationSpec,
        found: dict[str, Any] | None,
        result: Result,
        timing: Timing,
    ) -> None:
        metadata = body["metadata"]
        namespace, key = metadata["namespace"], f"{metadata['namespace']}/{metadata['name']}"
        self.gatekeeper.check_budget(body)
        self.gatekeeper.check_target(namespace, spec)
        tenant = self.identity.client(namespace, spec.service_account_name)
        where = spec.source_namespace(namespace)
        self.index.uses(key, f"{where}/{spec.source_ref.name}" if where != namespace else None)
        result.revision, root = source.artifact(self.store, namespace, spec, found)
        self.index.depends(
            key, {f"{ns}/{n}" for ns, n in spec.dependencies(namespace) if ns != namespace}
        )
        dependencies.check(self.kube, body, spec, self.gatekeeper.decide)
        documents = build.build(root, spec, kustomize=self.kustomize, sandbox=self.sandbox)
        self.gatekeeper.check_objects(namespace, len(documents))
        variables = build.variables(tenant, namespace, spec.post_build)
        documents = build.substituted(documents, variables)
        scope = validate.Scope(
            default_namespace=namespace,
            allowed_namespaces=self.gatekeeper.allowed_namespaces(namespace),
            target_namespace=spec.target_namespace,
        )
        manifests = validation.manifests(tenant, documents, scope)
        self.gatekeeper.check_kinds(namespace, manifests)
        owner = prune.owner_labels(metadata["name"], namespace)
        validation.own(manifests, owner)
        result.changed = self.applier.apply(tenant, manifests, spec.force)
        # From now on these are the desired state: watch events are compared with
        # them (before pruning, so our own deletions are not mistaken for drift).
        self.drift.record(key, manifests)
        new = result.inventory = Inventory.of(self.identity.cluster_id(), manifests)
        old = Inventory.from_status((body.get("status") or {}).get("inventory"))
        if old is not None and old.cluster != new.cluster:
            log.warning(
                "%s: inventory of cluster %s not pruned through %s", key, old.cluster, new.cluster
            )
        if old is not None and spec.prune:
            result.pruned, kept = prune.prune(self.executor, tenant, old.stale(new), owner)
            if kept:
                result.inventory = Inventory(new.cluster, tuple(sorted({*new.entries, *kept})))
                raise SyncError(
                    reasons.PRUNE_FAILED, "could not delete " + ", ".join(map(str, kept))
                )
        checks = health.targets(spec, namespace, new.entries)
        if checks:
            health.look(body, tenant, checks, result, timing.timeout)

    def _recheck_health(
        self, body: dict[str, Any], spec: model.KustomizationSpec, result: Result, timing: Timing
    ) -> None:
        """A later reconcile of a revision waiting for health: look again, apply nothing."""
        namespace = body["metadata"]["namespace"]
        tenant = self.identity.client(namespace, spec.service_account_name)
        inventory = Inventory.from_status((body.get("status") or {}).get("inventory"))
        checks = health.targets(spec, namespace, inventory.entries if inventory else ())
        if checks:
            health.look(body, tenant, checks, result, timing.timeout)

    # -- status ----------------------------------------------------------------

    def _write_status(
        self, body: dict[str, Any], outcome: Outcome, result: Result, requested: str | None
    ) -> None:
        rendered = status_step.render(body, outcome, result, requested, now=conditions.now())
        for event in rendered.events:
            events.record(
                self.kube, body, reason=event.reason, message=event.message, warning=event.warning
            )
        if self.metrics is not None:
            for drift in result.repaired:
                self.metrics.sync_drift_repairs_total.labels(
                    drift.entry.kind, status_step.manager_label(drift)
                ).inc()
        kube_status.patch_if_changed(self.kube, body, rendered.status)

    def _refuse_durations(
        self,
        key: str,
        body: dict[str, Any],
        error: durations.OutOfBoundsError,
        requested: str | None,
    ) -> Outcome:
        """A duration out of the platform's bounds: Stalled, nothing fetched or applied."""
        self.scheduler.unschedule(key)
        outcome = Outcome(False, reasons.INVALID_DURATION, str(error), stalled=True)
        revision = (body.get("status") or {}).get("lastAttemptedRevision") or ""
        self._write_status(body, outcome, Result(revision=revision), requested)
        return outcome

    # -- the watch cache and wake-ups --------------------------------------------

    def quiet(self, key: str) -> Outcome | None:
        """An interval tick decided from the watch cache alone (None: run the pipeline)."""
        body = self.cache.body(key)
        if body is None:
            return None
        spec = body.get("spec") or {}
        ref = spec.get("sourceRef") or {}
        source_key = f"{ref.get('namespace') or key.partition('/')[0]}/{ref.get('name')}"
        return self.scheduler.quiet(
            key,
            body,
            self.cache.source(source_key),
            policy_version=self.gate.version,
            # an edge out of the namespace is trusted only as last decided
            edges_cleared=not gatekeeper.crosses(key, spec) or self.gatekeeper.cleared(key),
            drift_clean=self.drift.clean(key),
            bounds=self.bounds,
        )

    def remember(self, body: dict[str, Any], *, deleted: bool = False) -> None:
        """A watch event's Kustomization or GitRepository body (the newest one wins)."""
        self.cache.remember(body, deleted=deleted)

    def cached_source(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The GitRepository as its watch last delivered it (None: not seen, or behind)."""
        return self.cache.source(f"{namespace}/{name}")

    def source_moved(self, namespace: str, name: str, revision: str) -> None:
        """A source has a new artifact: until the cache holds it, do not trust the cache.

        The source's status write and the wake-up of its Kustomizations race the
        watch event that carries the new revision; without this, a Kustomization
        woken first would find the old revision in the cache and call it unchanged.
        """
        self.cache.source_moved(f"{namespace}/{name}", revision)

    def waiting_on(self, key: str) -> list[str]:
        """Keys of the Kustomizations whose dependsOn names ``key`` (here, then elsewhere)."""
        namespace, _, name = key.partition("/")
        items = self.kube.list_objects(api.API_VERSION, KIND, namespace=namespace)
        return [*depindex.waiting_here(items, namespace, name), *self.index.dependents(key)]

    def dependents(self, namespace: str, source_name: str) -> list[str]:
        """Keys of the Kustomizations that use GitRepository ``namespace/source_name``."""
        items = self.kube.list_objects(api.API_VERSION, KIND, namespace=namespace)
        return [
            *depindex.using_here(items, namespace, source_name),
            *self.index.users(f"{namespace}/{source_name}"),
        ]
