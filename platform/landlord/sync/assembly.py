"""The parts a sync reconciler is made of, and what they answer between two reconciles.

:class:`Steps` assembles the named steps (identity, gatekeeper, applier,
finalizer) and the per-Kustomization bookkeeping (watch cache, scheduler,
dependency index, drift) from the operator's settings, once. Between
reconciles it answers the watches and the wake-ups: a watch event's body, an
interval tick decided from the cache alone, whom a Ready dependency or a new
source artifact wakes, and forgetting a deleted Kustomization everywhere. The
pipeline itself is :class:`landlord.sync.reconciler.KustomizationReconciler`.
"""

from __future__ import annotations

import concurrent.futures
import pathlib
from typing import Any

from landlord import api, policy, telemetry
from landlord.api import kustomization as model
from landlord.gitops import artifacts, durations, sops
from landlord.gitops import budgets as budgets_mod
from landlord.gitops import sandbox as sandbox_mod
from landlord.kube import Kube
from landlord.kube.fleet import Fleet
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.runtime.tenantview import TenantView
from landlord.sync import decryption, depindex, watchcache
from landlord.sync.drift import DriftTracker
from landlord.sync.finalize import Finalizer
from landlord.sync.scheduler import Scheduler
from landlord.sync.steps import apply, elsewhere, gatekeeper, target
from landlord.sync.steps.identity import Identity
from landlord.sync.watchcache import WatchCache

KIND = model.KIND
# Threads for reads, dry-runs, applies and prunes (one executor for all reconciles);
# client-side pacing of one reconcile's writes and dry-runs (requests per second, burst).
WORKERS = 8
WRITE_RATE, WRITE_BURST = 1000.0, 100


class Steps:
    """The steps and bookkeeping of the sync, built once from the operator's settings."""

    def __init__(
        self,
        kube: Kube,
        *,
        store: artifacts.ArtifactStore,
        platform_namespace: str,
        kustomize: pathlib.Path | None,
        sandbox: sandbox_mod.Sandbox,
        gate: policy.Gate,
        fleet: Fleet | None = None,
        metrics: telemetry.Metrics | None = None,
        drift: DriftTracker | None = None,
        namespaces: NamespaceLabels | None = None,
        tenant_view: TenantView | None = None,
        workers: int = WORKERS,
        write_rate: float = WRITE_RATE,
        write_burst: int = WRITE_BURST,
        bounds: durations.Bounds | None = None,
        trace_signer: telemetry.TraceSigner | None = None,
        budgets: budgets_mod.Budgets | None = None,
        executor: concurrent.futures.Executor | None = None,
        in_flight: int | None = None,
        decrypting: decryption.Decrypting | None = None,
    ) -> None:
        self.kube = kube
        self.gate = gate
        self.store = store
        self.platform_namespace = platform_namespace
        self.kustomize = kustomize
        self.sandbox = sandbox
        # Without sops, a decrypting Kustomization says so (DecryptionFailed) and applies nothing.
        self.decrypting = decrypting or decryption.Decrypting(sops.Sops(None, sandbox))
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
        # One reconcile's tasks in that executor at once: a large revision leaves
        # room for everyone else's (``workers`` is the executor's size).
        self.in_flight = in_flight if in_flight is not None else max(1, workers // 2)
        self.cache = WatchCache()
        self.scheduler = Scheduler()
        self.index = depindex.DependencyIndex()
        self.identity = Identity(
            kube, platform_namespace=platform_namespace, fleet=fleet, tenant_view=tenant_view
        )
        self.fleet = self.identity.fleet
        self.gatekeeper = gatekeeper.Gatekeeper(
            kube,
            gate=gate,
            platform_namespace=platform_namespace,
            namespaces=self.namespaces,
            budgets=budgets or budgets_mod.Budgets(),
            tenant_view=tenant_view,
        )
        self.targets = target.Targets(kube, identity=self.identity, gatekeeper=self.gatekeeper)
        self.leftovers = elsewhere.Leftovers(
            kube, identity=self.identity, executor=self.executor, in_flight=self.in_flight
        )
        self.applier = apply.Applier(
            self.executor, write_rate=write_rate, write_burst=write_burst, in_flight=self.in_flight
        )
        self.finalizer = Finalizer(
            kube,
            identity=self.identity,
            leftovers=self.leftovers,
            executor=self.executor,
            bounds=self.bounds,
            in_flight=self.in_flight,
        )

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

    # -- the watch cache -----------------------------------------------------------

    def quiet(self, key: str) -> Outcome | None:
        """An interval tick decided from the watch cache alone (None: run the pipeline)."""
        body = self.cache.body(key)
        spec = (body or {}).get("spec") or {}
        return self.scheduler.quiet(
            key,
            body,
            self.cache.source_of(key),
            policy_version=self.gate.version,
            # an edge out of the namespace is trusted only as last decided
            edges_cleared=not gatekeeper.crosses(key, spec) or self.gatekeeper.cleared(key),
            drift_clean=self.drift.clean(key),
            bounds=self.bounds,
        )

    def remember(self, body: dict[str, Any], *, deleted: bool = False) -> None:
        """A watch event's Kustomization or GitRepository body (the newest one wins)."""
        self.cache.remember(body, deleted=deleted)

    def cached_source(
        self, namespace: str, name: str, kind: str = watchcache.GIT
    ) -> dict[str, Any] | None:
        """The source as its watch last delivered it (None: not seen, or behind)."""
        return self.cache.source(watchcache.cache_key(kind, namespace, name))

    def source_moved(
        self, namespace: str, name: str, revision: str, kind: str = watchcache.GIT
    ) -> None:
        """A source has a new artifact: until the cache holds it, do not trust the cache.

        The source's status write and the wake-up of its Kustomizations race the
        watch event that carries the new revision; without this, a Kustomization
        woken first would find the old revision in the cache and call it unchanged.
        """
        self.cache.source_moved(watchcache.cache_key(kind, namespace, name), revision)

    # -- wake-ups --------------------------------------------------------------------

    def _in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's Kustomizations: as watched, or listed before the watch delivered any."""
        cached = self.cache.bodies_in(namespace)
        if cached is not None:
            return cached
        return self.kube.list_objects(api.API_VERSION, KIND, namespace=namespace)

    def ready(self, key: str) -> list[str]:
        """``key`` is Ready: the Kustomizations waiting on it, those failing due at once.

        A dependent that last failed (DependencyNotReady) is otherwise "fresh" — its
        spec, revision and policy are those of its last run — and a wake would find
        it not due until its backed-off retry. A dependent that is Ready stays on its
        interval: a dependency's steady state costs its dependents nothing.
        """
        found = self.waiting_on(key)
        for dependent in found:
            if self.scheduler.failing(dependent):
                self.scheduler.unschedule(dependent)
        return found

    def waiting_on(self, key: str) -> list[str]:
        """Keys of the Kustomizations whose dependsOn names ``key`` (here, then elsewhere)."""
        namespace, _, name = key.partition("/")
        items = self._in_namespace(namespace)
        return [*depindex.waiting_here(items, namespace, name), *self.index.dependents(key)]

    def dependents(self, namespace: str, source_name: str, kind: str = watchcache.GIT) -> list[str]:
        """Keys of the Kustomizations that use the ``kind`` source ``namespace/source_name``.

        Those elsewhere are indexed by name alone: one of them woken by another
        kind's source of the same name finds nothing changed.
        """
        items = self._in_namespace(namespace)
        return [
            *depindex.using_here(items, namespace, source_name, kind),
            *self.index.users(f"{namespace}/{source_name}"),
        ]
