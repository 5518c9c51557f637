"""Reconcile one Kustomization: the named steps of the sync pipeline, as the tenant.

names and cross-namespace references (decided before anything they name is
read) → budget → fetch artifact → check dependencies → build → validate →
apply (dry-run of everything that changed first, then staged server-side
apply) → inventory → prune → health → status. Every request about tenant objects uses a client that
impersonates the Kustomization's service account; only a Kustomization in the
platform namespace may run with the operator's own identity.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import logging
import pathlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from landlord import api, errors, policy, telemetry
from landlord.api import conditions, labels, names
from landlord.gitops import artifacts, durations
from landlord.gitops import budgets as budgets_mod
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops.objects import contains
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.runtime.ratelimit import TokenBucket
from landlord.sync import build as build_mod
from landlord.sync import health, healthwait, substitute, validate
from landlord.sync.drift import Drift, DriftTracker
from landlord.sync.inventory import Entry, Inventory
from landlord.sync.yamlsafe import YamlError

log = logging.getLogger(__name__)

KIND = "Kustomization"
# Threads per reconcile for reads, dry-runs and applies; client-side pacing of
# one reconcile's writes and dry-runs (requests per second, burst).
WORKERS = 8
WRITE_RATE, WRITE_BURST = 400.0, 100
# From this many objects of one kind in one namespace on, read them with a LIST.
LIST_THRESHOLD = 8
# Apply stages: CRDs and Namespaces, then identities and RBAC, then everything else.
STAGES: tuple[frozenset[str], ...] = (
    frozenset({"CustomResourceDefinition", "Namespace"}),
    frozenset({"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}),
)


class SyncError(Exception):
    """A failing step: its condition reason, a message the tenant can act on."""

    def __init__(self, reason: str, message: str, *, stalled: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.stalled = stalled


@dataclasses.dataclass
class Result:
    """What the pipeline did to the cluster."""

    revision: str = ""
    inventory: Inventory | None = None
    changed: list[Entry] = dataclasses.field(default_factory=list)
    pruned: list[Entry] = dataclasses.field(default_factory=list)
    healthy: bool | None = None
    repaired: list[Drift] = dataclasses.field(default_factory=list)
    # A health wait in progress: its deadline (RFC 3339) and what is not healthy yet.
    health_deadline: str | None = None
    unhealthy: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Timing:
    """A Kustomization's durations, each within the platform's bounds (seconds)."""

    interval: float
    retry: float
    timeout: float

    @classmethod
    def of(cls, spec: dict[str, Any], bounds: durations.Bounds) -> Timing:
        """The spec's durations; OutOfBoundsError names the first one the platform refuses."""
        interval = durations.interval(spec, "interval", 600.0, bounds)
        retry = durations.interval(spec, "retryInterval", min(interval, 30.0), bounds)
        return cls(interval, retry, durations.timeout(spec, "timeout", 300.0, bounds))


def stage_of(manifest: dict[str, Any]) -> int:
    """The apply stage of a manifest (0 first)."""
    for index, kinds in enumerate(STAGES):
        if manifest["kind"] in kinds:
            return index
    return len(STAGES)


def _disabled(obj: dict[str, Any]) -> bool:
    """``landlord.dev/reconcile: disabled``: an existing object Landlord leaves as it is."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(labels.RECONCILE) == "disabled"


def _kind_object(manifest: dict[str, Any]) -> str:
    """The ``apply`` policy object of a manifest: ``<group>/<Kind>`` (group ``core`` for v1)."""
    group = manifest["apiVersion"].rpartition("/")[0] or "core"
    return f"{group}/{manifest['kind']}"


def _short(key: str, namespace: str) -> str:
    """``name`` for a key in ``namespace``, ``namespace/name`` otherwise."""
    return key.partition("/")[2] if key.partition("/")[0] == namespace else key


def _sha_of(revision: str) -> str:
    return revision.rpartition("sha1:")[2]


def _immutable(error: errors.ApiError) -> bool:
    return error.invalid and "immutable" in error.message


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
    ) -> None:
        self.kube = kube
        self.gate = gate
        self.budgets = budgets or budgets_mod.Budgets()
        # key → the policy version under which its names and cross-namespace edges
        # were last found allowed: the watch-cache fast path trusts nothing else.
        self._cleared: dict[str, int] = {}
        self.workers = workers
        self.write_rate = write_rate
        self.write_burst = write_burst
        self.bounds = bounds or durations.Bounds()
        self.namespaces = namespaces or NamespaceLabels()
        self.drift = drift or DriftTracker()
        # The newest Kustomization and GitRepository bodies the watches delivered:
        # an interval tick with nothing changed is decided from them, no request.
        self._bodies: dict[str, dict[str, Any]] = {}
        self._sources: dict[str, dict[str, Any]] = {}
        self._moved: dict[str, str] = {}  # source key → the revision announced, not yet cached
        self.store = store
        self.platform_namespace = platform_namespace
        self.kustomize = kustomize
        self.sandbox = sandbox
        self.cluster = cluster
        self.metrics = metrics
        self._next_check: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._policy_version: dict[str, int] = {}
        self.origins = telemetry.Origins(trace_signer)
        self._clients: dict[str, Kube] = {}
        # dependency key → keys of Kustomizations in other namespaces waiting on it
        self._remote_dependents: dict[str, set[str]] = {}
        # source key → keys of Kustomizations in other namespaces using it
        self._remote_users: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    # -- entry point ---------------------------------------------------------

    def reconcile(self, key: str) -> Outcome | None:
        """Sync ``namespace/name``; None when the Kustomization is gone."""
        namespace, _, name = key.partition("/")
        quiet = self._quiet(key)
        if quiet is not None:
            return quiet
        body = self.kube.get(api.API_VERSION, KIND, name, namespace)
        if body is None:
            self._next_check.pop(key, None)
            self._policy_version.pop(key, None)
            self._cleared.pop(key, None)
            self.drift.forget(key)
            self.origins.forget(key)
            return None
        if body["metadata"].get("deletionTimestamp"):
            return self._finalize(body)
        self._ensure_finalizer(body)
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        if spec.get("suspend"):
            return Outcome(skipped=True)
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        try:
            timing = Timing.of(spec, self.bounds)
        except durations.OutOfBoundsError as error:
            return self._refuse_durations(key, body, error, requested)
        # Names and cross-namespace edges are decided before anything is read with
        # the operator's identity: a refused sync learns nothing of what it names.
        refusal = self._refusal(key, body)
        source = refusal or self._source(body)
        revision = (
            None
            if isinstance(source, SyncError)
            else ((source or {}).get("status") or {}).get("artifact", {}).get("revision")
        )
        fresh = (
            status.get("observedGeneration") == body["metadata"].get("generation")
            and requested == status.get("lastHandledReconcileAt")
            and revision == status.get("lastAttemptedRevision")
            and self._policy_version.get(key) == self.gate.version
            and not self.drift.drifted(key)
        )
        now = time.monotonic()
        if fresh and now < self._next_check.get(key, 0.0):
            return Outcome(skipped=True, requeue_after=self._next_check[key] - now)
        # A health wait of this very revision and spec: look at health again, apply nothing.
        recheck = fresh and bool(status.get(healthwait.DEADLINE))
        result = Result(revision=revision or "")
        self._policy_version[key] = self.gate.version
        drifted = self.drift.take(key)
        traceparent = self.origins.trusted("Kustomization", body)  # only one Landlord signed
        parent, link = self.origins.parent_and_link(key, traceparent)
        with telemetry.span(
            "sync.reconcile", {"landlord.kustomization": key}, parent=parent, link=link
        ):
            try:
                if recheck:
                    self._recheck_health(body, result, timing)
                else:
                    self._run(body, source, result)
                outcome = Outcome(
                    True, "ReconciliationSucceeded", f"Applied revision: {result.revision}"
                )
            except SyncError as error:
                outcome = Outcome(False, error.reason, error.message, stalled=error.stalled)
        if outcome.ready and result.health_deadline is not None:
            outcome = Outcome(
                False,
                healthwait.PROGRESSING,
                f"applied revision {result.revision}; waiting until {result.health_deadline} "
                f"for health: {healthwait.summary(result.unhealthy)}",
            )
        if outcome.ready:
            self.origins.finished(key, traceparent)
        if drifted:
            restored = {entry.id for entry in result.changed}
            result.repaired = [d for d in drifted if d.entry.id in restored]
        if outcome.ready:
            self._failures.pop(key, None)
            delay = timing.interval
        elif result.health_deadline is not None:
            # Waiting for health holds no worker: look again soon, until the deadline.
            delay = healthwait.poll_after(result.health_deadline)
        else:
            # Back off while a dependency or the source is not there yet (the count is
            # capped, so the delay stays a finite float however long it keeps failing).
            failures = self._failures[key] = min(
                self._failures.get(key, 0) + 1, durations.MAX_DOUBLINGS + 1
            )
            delay = durations.backoff(timing.retry, failures, max(timing.interval, timing.retry))
        delay = durations.jittered(delay)
        self._next_check[key] = time.monotonic() + delay
        self._write_status(body, outcome, result, requested)
        return dataclasses.replace(outcome, requeue_after=None if outcome.stalled else delay)

    # -- the watch cache -------------------------------------------------------

    def remember(self, body: dict[str, Any], *, deleted: bool = False) -> None:
        """A watch event's Kustomization or GitRepository body (the newest one wins)."""
        metadata = body.get("metadata") or {}
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        source = body.get("kind") == "GitRepository"
        cache = self._sources if source else self._bodies
        with self._lock:
            if deleted:
                cache.pop(key, None)
            else:
                cache[key] = body
            revision = ((body.get("status") or {}).get("artifact") or {}).get("revision")
            if source and (deleted or self._moved.get(key) == revision):
                self._moved.pop(key, None)

    def cached_source(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The GitRepository as its watch last delivered it (None: not seen, or behind)."""
        key = f"{namespace}/{name}"
        with self._lock:
            return None if key in self._moved else self._sources.get(key)

    def source_moved(self, namespace: str, name: str, revision: str) -> None:
        """A source has a new artifact: until the cache holds it, do not trust the cache.

        The source's status write and the wake-up of its Kustomizations race the
        watch event that carries the new revision; without this, a Kustomization
        woken first would find the old revision in the cache and call it unchanged.
        """
        key = f"{namespace}/{name}"
        with self._lock:
            cached = (self._sources.get(key) or {}).get("status") or {}
            if (cached.get("artifact") or {}).get("revision") == revision:
                return  # the watch event was first: the cache already holds it
            self._moved[key] = revision

    def _quiet(self, key: str) -> Outcome | None:
        """Decide a reconcile from the watch cache alone, when nothing can have changed.

        Nothing changed when the cached Kustomization is Ready at its generation,
        its source's cached revision is the one applied, no reconcile was
        requested, the policy is the one it was decided with, and every object
        it applied is watched and has not drifted. Then an interval tick makes
        no request at all; anything else runs the pipeline.
        """
        with self._lock:
            body = self._bodies.get(key)
            if body is None:
                return None
            spec = body.get("spec") or {}
            ref = spec.get("sourceRef") or {}
            source_key = f"{ref.get('namespace') or key.partition('/')[0]}/{ref.get('name')}"
            source = None if source_key in self._moved else self._sources.get(source_key)
        status = body.get("status") or {}
        metadata = body["metadata"]
        if self._crosses(key, spec) and self._cleared.get(key) != self.gate.version:
            return None  # an edge out of the namespace is trusted only as last decided
        if (
            source is None
            or spec.get("suspend")
            or metadata.get("deletionTimestamp")
            or labels.FINALIZER not in (metadata.get("finalizers") or [])
            or status.get("observedGeneration") != metadata.get("generation")
            or (metadata.get("annotations") or {}).get(labels.REQUESTED_AT)
            != status.get("lastHandledReconcileAt")
            or not conditions.is_true(status.get("conditions") or [], conditions.READY)
            or self._policy_version.get(key) != self.gate.version
            or key in self._failures
            or not self.drift.clean(key)
        ):
            return None
        revision = ((source.get("status") or {}).get("artifact") or {}).get("revision")
        if not revision or revision != status.get("lastAppliedRevision"):
            return None
        if revision != status.get("lastAttemptedRevision"):
            return None
        now = time.monotonic()
        due = self._next_check.get(key)
        if due is None:
            return None  # not run since this operator started: run once
        if now < due:
            return Outcome(skipped=True, requeue_after=due - now)
        try:
            interval = durations.interval(spec, "interval", 600.0, self.bounds)
        except durations.OutOfBoundsError:
            return None  # the pipeline refuses it, with a condition
        delay = durations.jittered(interval)
        self._next_check[key] = now + delay
        return Outcome(
            True, "ReconciliationSucceeded", "unchanged", skipped=True, requeue_after=delay
        )

    # -- the pipeline --------------------------------------------------------

    def _run(
        self, body: dict[str, Any], source: dict[str, Any] | SyncError | None, result: Result
    ) -> None:
        if isinstance(source, SyncError):
            raise source  # a bad name or a denied edge: nothing of the target was read
        spec = body.get("spec") or {}
        namespace = body["metadata"]["namespace"]
        self._check_budget(body)
        if spec.get("kubeConfig"):
            target = ((spec["kubeConfig"].get("secretRef") or {}).get("name")) or ""
            self._gate(namespace, "target", target, f"target cluster {target!r}")
            # Never fall back to the local cluster for a sync meant for another one.
            raise SyncError(
                "TargetNotSupported",
                "spec.kubeConfig (remote target clusters) is not supported yet; "
                "nothing was applied",
                stalled=True,
            )
        tenant = self._identity(namespace, spec.get("serviceAccountName"))
        root = self._artifact(body, source, result)
        self._check_dependencies(body)
        documents = self._build(root, spec)
        self._check_objects(namespace, len(documents))
        variables = self._variables(tenant, namespace, spec.get("postBuild") or {})
        if variables is not None:
            documents = [
                dataclasses.replace(
                    doc,
                    body=substitute.substitute(
                        doc.body, variables, f"{doc.source}: document {doc.index}"
                    ),
                )
                for doc in documents
            ]
        scope = validate.Scope(
            default_namespace=namespace,
            allowed_namespaces=self._allowed_namespaces(namespace),
            target_namespace=spec.get("targetNamespace"),
        )
        try:
            manifests = validate.prepare(
                documents, scope, lambda v, k: self._namespaced(tenant, v, k)
            )
        except YamlError as error:
            raise SyncError("ValidationFailed", error.message) from None
        owner = {
            labels.KUSTOMIZATION_NAME: body["metadata"]["name"],
            labels.KUSTOMIZATION_NAMESPACE: namespace,
        }
        self._check_kinds(namespace, manifests)
        for manifest in manifests:
            manifest["metadata"].setdefault("labels", {}).update(owner)
        force = bool(spec.get("force"))
        result.changed = self._apply(tenant, manifests, force)
        # From now on these are the desired state: watch events are compared with
        # them (before pruning, so our own deletions are not mistaken for drift).
        self.drift.record(f"{namespace}/{body['metadata']['name']}", manifests)
        new = Inventory.of(self._cluster_id(), manifests)
        old = Inventory.from_status((body.get("status") or {}).get("inventory"))
        result.inventory = new
        if old is not None and spec.get("prune", True):
            result.pruned, kept = self._prune(tenant, old.stale(new), owner)
            if kept:
                result.inventory = Inventory(new.cluster, tuple(sorted({*new.entries, *kept})))
                raise SyncError("PruneFailed", "could not delete " + ", ".join(map(str, kept)))
        elif old is not None:
            result.inventory = new
        checks = self._health_targets(spec, namespace, new.entries)
        if checks:
            self._health(body, tenant, checks, result, Timing.of(spec, self.bounds).timeout)

    def _cluster_id(self) -> str:
        """The target cluster's identity: the uid of its kube-system namespace."""
        if self.cluster == "local":
            system = self.kube.get("v1", "Namespace", "kube-system") or {}
            self.cluster = (system.get("metadata") or {}).get("uid") or "local"
        return self.cluster

    def _identity(self, namespace: str, service_account: str | None) -> Kube:
        """The client every tenant-object request goes through."""
        if namespace == self.platform_namespace and not service_account:
            return self.kube  # the platform sync: the one privileged path
        account = service_account or labels.RECONCILER_SERVICE_ACCOUNT
        if self.kube.get("v1", "ServiceAccount", account, namespace) is None:
            raise SyncError(
                "ServiceAccountNotFound",
                f"service account {namespace}/{account} does not exist; the sync "
                "runs only as that account",
            )
        user = f"{namespace}/{account}"
        with self._lock:
            client = self._clients.get(user)
            if client is None:
                client = self._clients[user] = self.kube.as_service_account(namespace, account)
        return client

    def _source(self, body: dict[str, Any]) -> dict[str, Any] | None:
        ref = (body.get("spec") or {}).get("sourceRef") or {}
        namespace = ref.get("namespace") or body["metadata"]["namespace"]
        return self.kube.get(
            api.API_VERSION, ref.get("kind", "GitRepository"), ref.get("name", ""), namespace
        )

    def _artifact(
        self, body: dict[str, Any], source: dict[str, Any] | None, result: Result
    ) -> pathlib.Path:
        ref = (body.get("spec") or {}).get("sourceRef") or {}
        own = body["metadata"]["namespace"]
        where = ref.get("namespace") or own
        if where != own:  # allowed: _refusal decided it before the source was read
            source_key = f"{where}/{ref.get('name')}"
            with self._lock:
                self._remote_users.setdefault(source_key, set()).add(
                    f"{own}/{body['metadata']['name']}"
                )
        if source is None:
            raise SyncError("ArtifactFailed", f"GitRepository {where}/{ref.get('name')} not found")
        artifact = (source.get("status") or {}).get("artifact")
        if not artifact:
            raise SyncError(
                "ArtifactFailed", f"GitRepository {where}/{ref.get('name')} has no artifact yet"
            )
        result.revision = artifact["revision"]
        key = artifacts.artifact_key(
            _sha_of(artifact["revision"]), (source.get("spec") or {}).get("ignore")
        )
        stored = self.store.lookup(where, ref["name"], key)
        if stored is None:
            raise SyncError(
                "ArtifactFailed", f"the artifact for {artifact['revision']} is not stored yet"
            )
        return stored.path

    def _check_dependencies(self, body: dict[str, Any]) -> None:
        """Stalled on a cycle, waiting while a dependency is not Ready.

        Every cross-namespace edge was allowed by :meth:`_refusal` before this
        runs; only then are the dependencies read, the cycle walk first.
        """
        own = body["metadata"]["namespace"]
        key = f"{own}/{body['metadata']['name']}"
        deps = [
            (dep.get("namespace") or own, dep["name"])
            for dep in (body.get("spec") or {}).get("dependsOn") or []
        ]
        for namespace, name in deps:
            if namespace != own:
                with self._lock:
                    self._remote_dependents.setdefault(f"{namespace}/{name}", set()).add(key)
        cycle = self._cycle(body)
        if cycle:
            raise SyncError(
                "DependencyCycle", "dependsOn forms a cycle: " + " → ".join(cycle), stalled=True
            )
        waiting = []
        for namespace, name in deps:
            other = self.kube.get(api.API_VERSION, KIND, name, namespace)
            if other is None:
                waiting.append(f"{namespace}/{name} (not found)")
                continue
            status = other.get("status") or {}
            if not (
                conditions.is_true(status.get("conditions") or [], conditions.READY)
                and status.get("observedGeneration") == other["metadata"].get("generation")
            ):
                waiting.append(f"{namespace}/{name}")
        if waiting:
            raise SyncError(
                "DependencyNotReady", "waiting for dependencies to be Ready: " + ", ".join(waiting)
            )

    def _cycle(self, body: dict[str, Any]) -> list[str] | None:
        """The dependsOn cycle through this Kustomization, walking only allowed edges.

        An edge leaving a namespace is followed only when the policy lets that
        namespace's tenant depend on its target: a denied edge is never honoured
        (its Kustomization is PolicyDenied), so it closes no cycle, and the walk
        reads nothing behind it.
        """
        own = body["metadata"]["namespace"]
        start = f"{own}/{body['metadata']['name']}"
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        visited: set[str] = set()
        while stack:
            key, path = stack.pop()
            namespace, _, name = key.partition("/")
            obj = body if key == start else self.kube.get(api.API_VERSION, KIND, name, namespace)
            for dep in ((obj or {}).get("spec") or {}).get("dependsOn") or []:
                if not names.is_subdomain(dep.get("name")) or not names.is_label(
                    dep.get("namespace") or namespace
                ):
                    continue  # a name no request path may carry
                target = f"{dep.get('namespace') or namespace}/{dep['name']}"
                if key != start and self._decide(namespace, "depend", target) is not None:
                    continue
                if target == start:
                    return [_short(k, own) for k in (*path, start)]
                if target not in visited:
                    visited.add(target)
                    stack.append((target, [*path, target]))
        return None

    # -- refusals before any read: names, edges, budgets -------------------------

    def _refusal(self, key: str, body: dict[str, Any]) -> SyncError | None:
        """Why this Kustomization is refused before anything it names is read; None if not.

        Decided from its spec, the namespace labels and the policy alone: a bad
        name (InvalidSpec) or a denied cross-namespace sourceRef or dependsOn
        (PolicyDenied). The message names only what the tenant wrote, and is the
        same whether the target exists or not.
        """
        spec = body.get("spec") or {}
        problems = names.kustomization(spec)
        refusal = (
            SyncError(names.REASON, names.summary(problems), stalled=True) if problems else None
        )
        if refusal is None:
            try:
                self._check_edges(body)
            except SyncError as error:
                refusal = error
        with self._lock:
            if refusal is None:
                self._cleared[key] = self.gate.version
            else:
                self._cleared.pop(key, None)
        return refusal

    def _check_edges(self, body: dict[str, Any]) -> None:
        """PolicyDenied for the first cross-namespace sourceRef or dependsOn the policy refuses."""
        own = body["metadata"]["namespace"]
        spec = body.get("spec") or {}
        ref = spec.get("sourceRef") or {}
        if (ref.get("namespace") or own) != own:
            target = f"{ref['namespace']}/{ref.get('name')}"
            self._gate(own, "source", target, f"sourceRef {target}")
        for dep in spec.get("dependsOn") or []:
            if (dep.get("namespace") or own) != own:
                target = f"{dep['namespace']}/{dep.get('name')}"
                self._gate(own, "depend", target, f"dependsOn {target}")

    @staticmethod
    def _crosses(key: str, spec: dict[str, Any]) -> bool:
        """Whether a spec's sourceRef or any dependsOn leaves the namespace of ``key``."""
        own = key.partition("/")[0]
        refs = [spec.get("sourceRef") or {}, *(spec.get("dependsOn") or [])]
        return any((ref.get("namespace") or own) != own for ref in refs)

    def _tenant(self, namespace: str) -> tuple[str, list[str]]:
        """Whose budget ``namespace`` counts against, and all the namespaces it has."""
        found = self._namespace_labels(namespace)
        tenant = budgets_mod.tenant_of(namespace, found)
        name = found.get(labels.TENANT)
        if not name:
            return tenant, [namespace]
        listed = self.kube.list_objects("v1", "Namespace", label_selector=f"{labels.TENANT}={name}")
        return tenant, sorted({namespace, *(ns["metadata"]["name"] for ns in listed)})

    def _check_budget(self, body: dict[str, Any]) -> None:
        """BudgetExceeded when the tenant's older Kustomizations use up its budget."""
        namespace = body["metadata"]["namespace"]
        if namespace == self.platform_namespace:
            return
        tenant, spaces = self._tenant(namespace)
        items = [
            i for ns in spaces for i in self.kube.list_objects(api.API_VERSION, KIND, namespace=ns)
        ]
        why = budgets_mod.over_count(
            KIND,
            f"{namespace}/{body['metadata']['name']}",
            items,
            limit=self.budgets.kustomizations,
            budget="kustomizations",
            tenant=tenant,
            consequence="nothing was read, built or applied",
        )
        if why:
            raise SyncError(budgets_mod.REASON, why)

    def _check_objects(self, namespace: str, count: int) -> None:
        """BudgetExceeded (Stalled until a new revision) when a revision has too many objects."""
        if namespace == self.platform_namespace:
            return
        tenant = budgets_mod.tenant_of(namespace, self._namespace_labels(namespace))
        why = budgets_mod.over_objects(
            count, limit=self.budgets.objects_per_revision, tenant=tenant
        )
        if why:
            raise SyncError(budgets_mod.REASON, why, stalled=True)

    # -- policy --------------------------------------------------------------

    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        cached = self.namespaces.get(namespace)
        if cached is not None:
            return cached
        ns = self.kube.get("v1", "Namespace", namespace) or {}
        return dict((ns.get("metadata") or {}).get("labels") or {})

    def _decide(self, own: str, point: str, obj: str) -> tuple[str, policy.Decision] | None:
        """None when ``own``'s tenant may reach ``obj``; else its subject and the denial.

        Edges inside one tenant (between its own namespaces) need no policy; the
        platform namespace is not gated (it is how tenants and policies arrive).
        """
        if own == self.platform_namespace:
            return None
        own_labels = self._namespace_labels(own)
        if point in ("depend", "source"):
            other = obj.partition("/")[0]
            if other == own or policy.same_tenant(own_labels, self._namespace_labels(other)):
                return None
        subject = policy.subject_for(own, own_labels)
        decision = self.gate.check(point, [subject], obj)
        return None if decision.allowed else (subject, decision)

    def _gate(self, own: str, point: str, obj: str, what: str) -> None:
        """Raise PolicyDenied unless the policy lets ``own``'s tenant reach ``obj``."""
        denied = self._decide(own, point, obj)
        if denied is not None:
            subject, decision = denied
            raise SyncError(
                "PolicyDenied",
                f"{what} is denied for {subject}: {decision.explain()}; nothing was applied. "
                f"A platform admin can allow it with `p, {subject}, {point}, {obj}, allow`",
                stalled=True,
            )

    def _check_kinds(self, namespace: str, manifests: list[dict[str, Any]]) -> None:
        """Every kind of the revision must be one the tenant may apply: else apply nothing."""
        if namespace == self.platform_namespace:
            return
        kinds = sorted({_kind_object(m) for m in manifests})
        if not kinds:
            return
        subject = policy.subject_for(namespace, self._namespace_labels(namespace))
        denied = [
            (kind, decision)
            for kind in kinds
            if not (decision := self.gate.check("apply", [subject], kind)).allowed
        ]
        if denied:
            listed = "; ".join(f"{kind}: {d.explain()}" for kind, d in denied[:5])
            more = f" (and {len(denied) - 5} more kinds)" if len(denied) > 5 else ""
            raise SyncError(
                "PolicyDenied",
                f"{subject} may not apply {listed}{more}; nothing was applied",
                stalled=True,
            )

    def _build(self, root: pathlib.Path, spec: dict[str, Any]) -> list[Any]:
        try:
            return build_mod.build(
                root, spec.get("path") or "./", kustomize=self.kustomize, sandbox=self.sandbox
            )
        except YamlError as error:
            raise SyncError(error.reason, error.message) from None

    def _variables(
        self, tenant: Kube, namespace: str, post_build: dict[str, Any]
    ) -> dict[str, str] | None:
        if not post_build:
            return None
        variables: dict[str, str] = {}
        for ref in post_build.get("substituteFrom") or []:
            try:
                obj = tenant.get("v1", ref["kind"], ref["name"], namespace)
            except errors.ApiError as error:
                raise SyncError(
                    "BuildFailed", f"substituteFrom {ref['kind']} {ref['name']}: {error.message}"
                ) from None
            if obj is None:
                if ref.get("optional"):
                    continue
                raise SyncError(
                    "BuildFailed",
                    f"substituteFrom {ref['kind']} {namespace}/{ref['name']} not found",
                )
            data = obj.get("data") or {}
            if ref["kind"] == "Secret":
                import base64

                data = {k: base64.b64decode(v).decode() for k, v in data.items()}
            variables.update(data)
        variables.update(post_build.get("substitute") or {})
        try:
            substitute.check_names(variables, "postBuild")
        except YamlError as error:
            raise SyncError("BuildFailed", error.message) from None
        return variables

    def _allowed_namespaces(self, namespace: str) -> frozenset[str] | None:
        if namespace == self.platform_namespace:
            return None
        ns = self.kube.get("v1", "Namespace", namespace) or {}
        tenant = ((ns.get("metadata") or {}).get("labels") or {}).get(labels.TENANT)
        if not tenant:
            return frozenset({namespace})
        body = self.kube.get(api.API_VERSION, "Tenant", tenant) or {}
        return frozenset((body.get("status") or {}).get("namespaces") or [namespace])

    def _namespaced(self, tenant: Kube, api_version: str, kind: str) -> bool:
        try:
            return bool(tenant.resource(api_version, kind).namespaced)
        except errors.ApiError:
            raise YamlError(f"the cluster does not serve {kind} ({api_version})") from None

    # -- apply and prune -----------------------------------------------------

    def _apply(self, tenant: Kube, manifests: list[dict[str, Any]], force: bool) -> list[Entry]:
        bucket = TokenBucket(self.write_rate, self.write_burst)
        trace = telemetry.traceparent()  # worker threads do not inherit the current span
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            lives = self._lives(tenant, manifests, pool)
            changed = [
                m
                for m, live in zip(manifests, lives, strict=True)
                if live is None or not (contains(live, m) or _disabled(live) or _disabled(m))
            ]
            # Everything that would change is dry-run first: one refusal applies nothing.
            failures = [
                f for f in pool.map(lambda m: self._dry_run(tenant, m, bucket), changed) if f
            ]
            if failures:
                raise SyncError(
                    "ApplyFailed",
                    "; ".join(failures[:5])
                    + (f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""),
                )
            for stage in sorted({stage_of(m) for m in changed}):
                batch = [m for m in changed if stage_of(m) == stage]
                problems = [
                    p
                    for p in pool.map(lambda m: self._write(tenant, m, force, bucket, trace), batch)
                    if p
                ]
                if problems:
                    raise SyncError("ApplyFailed", "; ".join(problems[:5]))
        return [Entry.of(m) for m in changed]

    def _lives(
        self,
        tenant: Kube,
        manifests: list[dict[str, Any]],
        pool: concurrent.futures.ThreadPoolExecutor,
    ) -> list[dict[str, Any] | None]:
        """The live object of each manifest (None: absent), as the tenant.

        Many objects of one kind in one namespace are read with one LIST rather
        than a GET each; where the tenant may not list, each is read with a GET.
        """
        groups: dict[tuple[str, str, str | None], list[int]] = {}
        for index, manifest in enumerate(manifests):
            place = (
                manifest["apiVersion"],
                manifest["kind"],
                manifest["metadata"].get("namespace"),
            )
            groups.setdefault(place, []).append(index)
        lives: list[dict[str, Any] | None] = [None] * len(manifests)
        single: list[int] = []
        for (api_version, kind, namespace), indexes in groups.items():
            if len(indexes) < LIST_THRESHOLD:
                single.extend(indexes)
                continue
            try:
                listed = tenant.list_objects(api_version, kind, namespace=namespace)
            except errors.ApiError:
                single.extend(indexes)
                continue
            by_name = {item["metadata"]["name"]: item for item in listed}
            for index in indexes:
                lives[index] = by_name.get(manifests[index]["metadata"]["name"])
        for index, live in zip(
            single, pool.map(lambda i: self._live(tenant, manifests[i]), single), strict=True
        ):
            lives[index] = live
        return lives

    def _live(self, tenant: Kube, manifest: dict[str, Any]) -> dict[str, Any] | None:
        metadata = manifest["metadata"]
        try:
            return tenant.get(
                manifest["apiVersion"],
                manifest["kind"],
                metadata["name"],
                metadata.get("namespace"),
            )
        except errors.ApiError:
            return None  # the dry-run will say why

    def _dry_run(self, tenant: Kube, manifest: dict[str, Any], bucket: TokenBucket) -> str | None:
        bucket.take()
        try:
            tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True, dry_run=True)
        except errors.ApiError as error:
            if _immutable(error):
                return None  # handled at apply time (recreate with force)
            return f"{Entry.of(manifest)}: {error.message}"
        return None

    def _write(
        self,
        tenant: Kube,
        manifest: dict[str, Any],
        force: bool,
        bucket: TokenBucket,
        trace: str | None,
    ) -> str | None:
        bucket.take()
        entry = Entry.of(manifest)
        with telemetry.span("sync.apply", {"landlord.object": entry.id}, parent=trace):
            return self._write_one(tenant, manifest, entry, force)

    def _write_one(
        self, tenant: Kube, manifest: dict[str, Any], entry: Entry, force: bool
    ) -> str | None:
        try:
            tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
        except errors.ApiError as error:
            if not _immutable(error):
                return f"{entry}: {error.message}"
            opted = (manifest["metadata"].get("annotations") or {}).get(labels.FORCE)
            if not (force or opted == "enabled"):
                return (
                    f"{entry}: {error.message} (set spec.force or the annotation "
                    f"{labels.FORCE}: enabled to recreate it)"
                )
            tenant.delete(
                entry.api_version,
                entry.kind,
                entry.name,
                entry.namespace or None,
                propagation="Foreground",
            )
            tenant.apply(manifest, field_manager=labels.FIELD_MANAGER, force=True)
        return None

    def _prune(
        self, tenant: Kube, stale: Iterable[Entry], owner: dict[str, str]
    ) -> tuple[list[Entry], list[Entry]]:
        """Delete stale entries that are still ours, last stage first; (pruned, kept).

        Within a stage deletions run in parallel; many entries of one kind and
        namespace are read with one LIST. An entry that cannot be read or deleted
        is kept (and reported), never forgotten.
        """
        stages: dict[int, list[Entry]] = {}
        for entry in stale:
            stages.setdefault(stage_of({"kind": entry.kind}), []).append(entry)
        pruned: list[Entry] = []
        kept: list[Entry] = []
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            for stage in sorted(stages, reverse=True):
                entries = sorted(stages[stage])
                listed = self._listed(tenant, entries)
                prune = functools.partial(self._prune_one, tenant, listed=listed, owner=owner)
                results = pool.map(prune, entries)
                for entry, result in zip(entries, results, strict=True):
                    if result == "pruned":
                        pruned.append(entry)
                    elif result == "kept":
                        kept.append(entry)
        return pruned, kept

    def _listed(
        self, tenant: Kube, entries: list[Entry]
    ) -> dict[tuple[str, str, str], dict[str, dict[str, Any]]]:
        """For each (apiVersion, kind, namespace) with many entries: its objects by name."""
        groups: dict[tuple[str, str, str], int] = {}
        for entry in entries:
            place = (entry.api_version, entry.kind, entry.namespace)
            groups[place] = groups.get(place, 0) + 1
        listed = {}
        for (api_version, kind, namespace), count in groups.items():
            if count < LIST_THRESHOLD:
                continue
            try:
                items = tenant.list_objects(api_version, kind, namespace=namespace or None)
            except errors.ApiError:
                continue  # read one by one instead
            listed[(api_version, kind, namespace)] = {i["metadata"]["name"]: i for i in items}
        return listed

    def _prune_one(
        self,
        tenant: Kube,
        entry: Entry,
        listed: dict[tuple[str, str, str], dict[str, dict[str, Any]]],
        owner: dict[str, str],
    ) -> str:
        """``pruned``, ``skipped`` (gone, not ours, opted out) or ``kept`` (failed)."""
        namespace = entry.namespace or None
        try:
            group = listed.get((entry.api_version, entry.kind, entry.namespace))
            if group is not None:
                live = group.get(entry.name)
            else:
                live = tenant.get(entry.api_version, entry.kind, entry.name, namespace)
            if live is None:
                return "skipped"
            live_labels = live["metadata"].get("labels") or {}
            if any(live_labels.get(k) != v for k, v in owner.items()):
                return "skipped"  # not ours: never delete
            annotations = live["metadata"].get("annotations") or {}
            if "disabled" in (annotations.get(labels.PRUNE), live_labels.get(labels.PRUNE)):
                return "skipped"
            tenant.delete(entry.api_version, entry.kind, entry.name, namespace)
        except errors.ApiError as error:
            log.warning("prune of %s failed: %s", entry, error.message)
            return "kept"
        return "pruned"

    # -- health --------------------------------------------------------------

    def _health_targets(
        self, spec: dict[str, Any], namespace: str, applied: Iterable[Entry]
    ) -> list[Entry]:
        """``wait``: everything applied; else the ``healthChecks`` (in ``namespace`` unless set)."""
        if spec.get("wait"):
            return list(applied)
        targets = []
        for check in spec.get("healthChecks") or []:
            api_version = check.get("apiVersion") or "apps/v1"
            group, _, version = api_version.rpartition("/")
            where = check.get("namespace") or namespace
            targets.append(Entry(where, check["name"], group, check["kind"], version))
        return targets

    def _health(
        self,
        body: dict[str, Any],
        tenant: Kube,
        targets: list[Entry],
        result: Result,
        timeout: float,
    ) -> None:
        """The health step: one look, never a wait (see :mod:`landlord.sync.healthwait`).

        Healthy: done. Not yet: ``result.health_deadline`` says until when the
        reconciler looks again (the deadline of this revision's wait, or a new one).
        Past the deadline: HealthCheckFailed, naming what is not healthy.
        """
        unhealthy = self._unhealthy(tenant, targets)
        if not unhealthy:
            result.healthy = True
            return
        generation = int(body["metadata"].get("generation") or 1)
        deadline = healthwait.pending(
            body.get("status") or {}, result.revision, generation
        ) or healthwait.deadline_after(timeout)
        if healthwait.remaining(deadline) <= 0:
            raise SyncError(
                healthwait.HEALTH_CHECK_FAILED,
                f"not healthy after {durations.format_seconds(timeout)} (spec.timeout): "
                + healthwait.summary(unhealthy),
            )
        result.healthy = False
        result.health_deadline = deadline
        result.unhealthy = unhealthy

    def _recheck_health(self, body: dict[str, Any], result: Result, timing: Timing) -> None:
        """A later reconcile of a revision waiting for health: look again, apply nothing."""
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        tenant = self._identity(body["metadata"]["namespace"], spec.get("serviceAccountName"))
        inventory = Inventory.from_status(status.get("inventory"))
        namespace = body["metadata"]["namespace"]
        targets = self._health_targets(spec, namespace, inventory.entries if inventory else ())
        if targets:
            self._health(body, tenant, targets, result, timing.timeout)

    def _unhealthy(self, tenant: Kube, targets: list[Entry]) -> list[str]:
        """``<target>: <why>`` for each target that is not healthy, read as the tenant."""
        unhealthy = []
        for entry in targets:
            try:
                live = tenant.get(
                    entry.api_version, entry.kind, entry.name, entry.namespace or None
                )
            except errors.ApiError as error:
                unhealthy.append(f"{entry}: {error.message}")
                continue
            healthy, why = health.check(live) if live else (False, "not found")
            if not healthy:
                unhealthy.append(f"{entry}: {why}")
        return unhealthy

    # -- finalizer, status ---------------------------------------------------

    def _ensure_finalizer(self, body: dict[str, Any]) -> None:
        metadata = body["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if labels.FINALIZER not in finalizers:
            self.kube.merge_patch(
                api.API_VERSION,
                KIND,
                metadata["name"],
                {
                    "metadata": {
                        "finalizers": [*finalizers, labels.FINALIZER],
                        "resourceVersion": metadata["resourceVersion"],
                    }
                },
                metadata["namespace"],
            )

    def _finalize(self, body: dict[str, Any]) -> Outcome | None:
        metadata = body["metadata"]
        # Being deleted: what it applied is no longer desired (our own prune is not drift).
        self.drift.forget(f"{metadata['namespace']}/{metadata['name']}")
        if labels.FINALIZER not in (metadata.get("finalizers") or []):
            return None
        spec = body.get("spec") or {}
        inventory = Inventory.from_status((body.get("status") or {}).get("inventory"))
        namespace = self.kube.get("v1", "Namespace", metadata["namespace"]) or {}
        # In a terminating namespace everything goes anyway (and the tenant's
        # service account may already be gone): nothing to prune.
        terminating = bool(namespace.get("metadata", {}).get("deletionTimestamp"))
        if (
            inventory
            and not terminating
            and spec.get("prune", True)
            and spec.get("deletionPolicy") != "Orphan"
        ):
            try:
                tenant = self._identity(metadata["namespace"], spec.get("serviceAccountName"))
            except SyncError as error:
                return Outcome(False, error.reason, error.message, requeue_after=5.0)
            owner = {
                labels.KUSTOMIZATION_NAME: metadata["name"],
                labels.KUSTOMIZATION_NAMESPACE: metadata["namespace"],
            }
            _, kept = self._prune(tenant, inventory.entries, owner)
            if kept:
                return Outcome(
                    False,
                    "PruneFailed",
                    "could not delete " + ", ".join(map(str, kept)),
                    requeue_after=5.0,
                )
        rest = [f for f in metadata.get("finalizers") or [] if f != labels.FINALIZER]
        try:
            self.kube.merge_patch(
                api.API_VERSION,
                KIND,
                metadata["name"],
                {"metadata": {"finalizers": rest, "resourceVersion": metadata["resourceVersion"]}},
                metadata["namespace"],
            )
        except errors.ApiError as error:
            if not error.not_found:
                raise
        return None

    def _write_status(
        self, body: dict[str, Any], outcome: Outcome, result: Result, requested: str | None
    ) -> None:
        existing = body.get("status") or {}
        generation = int(body["metadata"].get("generation") or 1)
        waiting = result.health_deadline is not None
        wanted = conditions.summary(
            ready=outcome.ready,
            reason=outcome.reason,
            message=outcome.message,
            stalled=outcome.stalled,
            reconciling=waiting,
            generation=generation,
            existing=existing.get("conditions") or [],
        )
        if waiting:
            # Flux's shape of a health wait: Ready and Healthy Unknown, Reconciling True.
            healthy = conditions.condition(
                healthwait.HEALTHY,
                False,
                healthwait.PROGRESSING,
                f"waiting until {result.health_deadline} for: "
                + healthwait.summary(result.unhealthy),
                observed_generation=generation,
            )
            unknown = [
                {**c, "status": "Unknown"}
                if c["type"] in (conditions.READY, healthwait.HEALTHY)
                else c
                for c in [*wanted, healthy]
            ]
            wanted = conditions.merge(existing.get("conditions") or [], unknown)
        elif result.healthy is not None or outcome.reason == healthwait.HEALTH_CHECK_FAILED:
            healthy = conditions.condition(
                healthwait.HEALTHY,
                bool(result.healthy),
                "Succeeded" if result.healthy else healthwait.HEALTH_CHECK_FAILED,
                "all health checks passed" if result.healthy else outcome.message,
                observed_generation=generation,
            )
            wanted = conditions.merge(existing.get("conditions") or [], [*wanted, healthy])
        new: dict[str, Any] = {
            "observedGeneration": generation,
            "conditions": wanted,
            "lastAttemptedRevision": result.revision,
            # Set only while a health wait is in progress (None removes it).
            healthwait.DEADLINE: result.health_deadline,
        }
        if waiting and not existing.get(healthwait.DEADLINE):
            events.record(
                self.kube,
                body,
                reason=healthwait.PROGRESSING,
                message=f"revision {result.revision}: {len(result.changed)} applied, "
                f"{len(result.pruned)} pruned; waiting until {result.health_deadline} for health",
            )
        if outcome.ready:
            new["lastAppliedRevision"] = result.revision
        if result.inventory is not None:
            new["inventory"] = result.inventory.to_status()
        if requested:
            new["lastHandledReconcileAt"] = requested
        if result.repaired:
            listed = ", ".join(map(str, result.repaired[:10])) + (
                f" (and {len(result.repaired) - 10} more)" if len(result.repaired) > 10 else ""
            )
            new["lastDriftRepair"] = {"time": conditions.now(), "objects": listed}
            events.record(self.kube, body, reason="DriftRepaired", message=f"restored {listed}")
            if self.metrics is not None:
                for drift in result.repaired:
                    self.metrics.sync_drift_repairs_total.labels(
                        drift.entry.kind, drift.manager or ("deleted" if drift.deleted else "")
                    ).inc()
        if outcome.ready and (
            result.changed
            or result.pruned
            or existing.get("lastAppliedRevision") != result.revision
        ):
            waited = existing.get(healthwait.DEADLINE) and not (result.changed or result.pruned)
            events.record(
                self.kube,
                body,
                reason="ReconciliationSucceeded",
                message=f"revision {result.revision}: all health checks passed"
                if waited
                else f"revision {result.revision}: {len(result.changed)} applied, "
                f"{len(result.pruned)} pruned",
            )
        elif not outcome.ready and not waiting:
            kube_status.warn_on_change(self.kube, body, outcome.reason, outcome.message)
        kube_status.patch_if_changed(self.kube, body, new)

    def _refuse_durations(
        self,
        key: str,
        body: dict[str, Any],
        error: durations.OutOfBoundsError,
        requested: str | None,
    ) -> Outcome:
        """A duration out of the platform's bounds: Stalled, nothing fetched or applied."""
        self._next_check.pop(key, None)
        outcome = Outcome(False, durations.INVALID_DURATION, str(error), stalled=True)
        revision = (body.get("status") or {}).get("lastAttemptedRevision") or ""
        self._write_status(body, outcome, Result(revision=revision), requested)
        return outcome

    def waiting_on(self, key: str) -> list[str]:
        """Keys of the Kustomizations in the same namespace whose dependsOn names ``key``."""
        namespace, _, name = key.partition("/")
        items = self.kube.list_objects(api.API_VERSION, KIND, namespace=namespace)
        local = [
            f"{namespace}/{item['metadata']['name']}"
            for item in items
            if any(
                dep.get("name") == name and (dep.get("namespace") or namespace) == namespace
                for dep in (item.get("spec") or {}).get("dependsOn") or []
            )
        ]
        with self._lock:
            remote = sorted(self._remote_dependents.get(key, ()))
        return [*local, *remote]

    def dependents(self, namespace: str, source: str) -> list[str]:
        """Keys of the Kustomizations that use GitRepository ``namespace/source``."""
        items = self.kube.list_objects(api.API_VERSION, KIND, namespace=namespace)
        local = [
            f"{namespace}/{item['metadata']['name']}"
            for item in items
            if ((item.get("spec") or {}).get("sourceRef") or {}).get("name") == source
            and ((item.get("spec") or {}).get("sourceRef") or {}).get("namespace")
            in (None, "", namespace)
        ]
        with self._lock:
            remote = sorted(self._remote_users.get(f"{namespace}/{source}", ()))
        return [*local, *remote]


Callback = Callable[[str, str, str], None]
