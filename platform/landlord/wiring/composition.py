"""The operator's composition root: every controller, watch and reloader, built once.

:class:`Operator` builds the reconcilers from settings, owns the controllers
that run them, and answers what happens between them: a new revision, drift,
a new policy. The kopf handlers (:mod:`landlord.wiring.handlers`) only call its
methods. Callbacks from other threads (source workers, watch threads, the
policy reloader) reach the controllers through the event loop, thread-safely.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from typing import Any

from landlord import api, errors, kube, onboarding, policy, telemetry
from landlord import settings as settings_mod
from landlord.api import conditions
from landlord.api import labels as api_labels
from landlord.clusters.reconciler import ClusterReconciler
from landlord.git import network
from landlord.gitops import artifacts, budgets, durations
from landlord.helm import access as helm_access
from landlord.helm import charts as helm_charts
from landlord.helm.release import HelmReleaseReconciler
from landlord.helm.repository import HelmRepositoryReconciler
from landlord.helm.runner import Helm
from landlord.helm.store import ChartStore
from landlord.kube import events
from landlord.kube.fleet import Fleet
from landlord.policy import reloader as policy_reloader
from landlord.policy import requests
from landlord.runtime import controller, outage, shards
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.sources import ocireconciler
from landlord.sources import reconciler as sources_reconciler
from landlord.sync import reconciler as sync_reconciler
from landlord.sync.drift import DriftTracker
from landlord.tenants import reconciler as tenants_reconciler
from landlord.tenants.features import Features
from landlord.tenants.liveindex import LiveIndex
from landlord.wiring import (
    drift_watches,
    fleet_watches,
    parts,
    policy_requests,
    policy_sources,
    retire,
    sharding,
    tenant_watches,
)
from landlord.wiring import images as images_part
from landlord.wiring import notifications as notifications_part

log = logging.getLogger(__name__)

# A Ready Tenant none of whose objects changed is reconciled in full this often
# anyway (the 5-minute resync only looks at Tenants that something happened to).
TENANT_FULL_RESYNC = 3600.0

# Watch events on owned objects arrive in bursts (a provisioning writes ten
# objects); wait this long so the burst becomes one reconcile.
DEBOUNCE = 0.1

# What a Tenant owns: (group, version, plural, feature that creates them or None).
OWNED: tuple[tuple[str, str, str | None], ...] = (
    ("v1", "Namespace", None),
    ("v1", "ServiceAccount", None),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", None),
    ("v1", "ResourceQuota", "quotas"),
    ("v1", "LimitRange", "limit_ranges"),
    ("networking.k8s.io/v1", "NetworkPolicy", "network_isolation"),
    (api.API_VERSION, "GitRepository", None),
    (api.API_VERSION, "HelmRepository", None),
    (api.API_VERSION, "Kustomization", None),
    (api.API_VERSION, "HelmRelease", None),
)


class Operator:
    """Landlord's controllers over one cluster, with the hooks that connect them.

    The feature switches decide which controllers exist: a switched-off one has
    no controller (``None``), no executor and no watch. ``on_started`` runs once
    the first policy is in force and the controllers run (the onboarding API
    starts there); ``on_stopping`` first thing at shutdown.
    """

    def __init__(
        self,
        config: settings_mod.Settings,
        *,
        kube_client: kube.Kube,
        metrics: telemetry.Metrics,
        resync: float = 300.0,
        gate: policy.Gate | None = None,
        on_started: Callable[[], None] | None = None,
        on_stopping: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.features = Features.from_flags(config.features)  # unknown flags stop here
        self.kube = kube_client
        self.metrics = metrics
        self.gate = gate or policy.Gate(metrics=metrics)
        # What the gate decided, for `landlord policy diff --live` (0: nothing recorded).
        if self.gate.recorder is None and config.policy.record_requests > 0:
            self.gate.recorder = requests.Recorder(limit=config.policy.record_requests)
        recorder = self.gate.recorder
        self.on_started = on_started
        self.on_stopping = on_stopping
        self._loop: asyncio.AbstractEventLoop | None = None
        self.outage: outage.Outage | None = None  # made on the event loop, at start
        # Every duration a tenant sets is held to these (refused, not clamped, outside them).
        bounds = durations.bounds_of(config.limits)
        # Which traceparents are Landlord's (signed by the API, then by the tenant operator).
        trace_signer = onboarding.trace_signer(
            kube_client,
            platform_namespace=config.platform_namespace,
            secret_name=config.api.trace_key_secret,
        )
        self.namespaces = NamespaceLabels()
        # A connection per registered cluster (and the operator's own), shared by all.
        self.fleet = Fleet(kube_client, platform_namespace=config.platform_namespace)
        self._tenant_here: dict[str, bool] = {}  # Tenant → this shard's, from Tenant events
        self._tenant_seen: dict[str, object] = {}  # Tenant → its last event's fingerprint
        self.router = sharding.ShardRouter(
            shards.Shard(config.shard.name),
            kube_client,
            self.namespaces,
            lease_duration=config.leader_election.lease_duration,
            leases=(config.platform_namespace, config.leader_election.lease)
            if config.leader_election.enabled
            else None,
        )
        # One tenant's keys (all of its namespaces) take at most half of a controller's workers.
        group_of = parts.fairness_group(self.namespaces)
        store = artifacts.ArtifactStore(config.sources.storage_dir / "artifacts")
        sandbox = parts.build_sandbox(config)
        budget = budgets.Budgets(**config.budgets.model_dump())  # LANDLORD_BUDGETS__*

        # What every Tenant has here, kept by one watch per owned kind (not listed per reconcile).
        self.live_index = LiveIndex(self.owned_kinds())
        self.local_watches = tenant_watches.LocalTenantWatches(
            kube_client, self.live_index, self._owned_elsewhere
        )
        self.tenants = tenants_reconciler.TenantReconciler(
            kube_client,
            live_index=self.live_index,
            features=self.features,
            platform_namespace=config.platform_namespace,
            metrics=metrics,
            trace_signer=trace_signer,
            offboarding_deadline=config.tenants.offboarding_deadline,
            roles=frozenset(config.tenants.roles),
            pod_security_levels=frozenset(config.tenants.pod_security_levels),
            owns=lambda body: self.router.owns_tenant(body["metadata"].get("labels")),
            fleet=self.fleet,
            gate=self.gate,  # notes each owner's onboarding API requests
        )
        self.tenant_watches = fleet_watches.TenantWatches(
            self.fleet, self._owned_elsewhere, belongs=self._tenants_namespace
        )
        self._cluster_seen: dict[str, object] = {}  # Cluster → what of it was last acted on
        self._release_seen: dict[str, object] = {}  # HelmRelease → what of it was last acted on
        # HelmRepository and HelmRelease bodies as their watches last saw them.
        self._helm_bodies: dict[tuple[str, str], dict[str, Any]] = {}
        self._index_due: dict[str, str] = {}  # HelmRepository → the index digest just stored
        # Every shard keeps its connections fresh; the default shard keeps the status.
        self.clusters = ClusterReconciler(
            kube_client,
            self.fleet,
            platform_namespace=config.platform_namespace,
            writes=not config.shard.name,
            on_identity=self._cluster_moved,
        )
        # One worker: two probes at once could both take one cluster for a new one.
        self.cluster_controller = controller.Controller(
            "cluster",
            requests.attributed("Cluster", self.reconcile_cluster, recorder),
            workers=1,
            resync=float("inf"),
        )
        self.changes = controller.Changes(full_every=TENANT_FULL_RESYNC)
        self.tenant_controller = controller.Controller(
            "tenant",
            requests.attributed("Tenant", self.reconcile_tenant, recorder),
            workers=config.tenants.workers,
            resync=resync,
        )

        # The sync reconciler is also the watch cache of GitRepository bodies the
        # sources and the policy read: it exists with the sync off, idle.
        drift_on = self.features.sync and self.features.drift_detection
        self.apply_executor = (
            concurrent.futures.ThreadPoolExecutor(
                config.sync.apply_workers, thread_name_prefix="sync-apply"
            )
            if self.features.sync
            else None
        )
        self.syncs = sync_reconciler.KustomizationReconciler(
            kube_client,
            store=store,
            platform_namespace=config.platform_namespace,
            kustomize=parts.kustomize(config),
            sandbox=sandbox,
            gate=self.gate,
            metrics=metrics,
            namespaces=self.namespaces,
            tenant_view=self.live_index,
            drift=DriftTracker() if drift_on else parts.NoDriftTracker(),
            executor=self.apply_executor,  # None with the sync off: an idle pool of its own
            workers=config.sync.apply_workers,  # the pool's size: one reconcile has half in flight
            write_rate=config.sync.write_rate,
            write_burst=config.sync.write_burst,
            trace_signer=trace_signer,
            bounds=bounds,
            budgets=budget,
            fleet=self.fleet,
            decrypting=parts.decrypting(config, sandbox),
        )
        self.drift_watches = (
            drift_watches.DriftWatches(kube_client, self.syncs.drift, self.on_drift, self.fleet)
            if drift_on
            else None
        )
        self.sync_controller = (
            controller.Controller(
                "sync",
                requests.attributed("Kustomization", self.reconcile_sync, recorder),
                workers=config.sync.workers,
                resync=float("inf"),  # syncs run on their own intervals (the outcome's requeue)
                group_of=group_of,
            )
            if self.features.sync
            else None
        )

        # Where tenants' sources (Git, chart repositories) may connect.
        network_policy = network.NetworkPolicy.from_settings(
            denied=[*config.sources.denied_networks, *config.sources.cluster_networks],
            allowed=config.sources.allowed_networks,
            apiserver=kube_client.configuration.host,  # always denied to tenants' sources
        )
        # Alerts out (their Providers' addresses pass the sources' deny list) and Receivers.
        self.notifications = notifications_part.Notifications(
            kube_client,
            gate=self.gate,
            namespaces=self.namespaces,
            platform_namespace=config.platform_namespace,
            network_policy=network_policy,
            allowed_schemes=tuple(config.sources.allowed_schemes),
            group_of=group_of,
            may_own=self.router.may_own_key,
            metrics=metrics,
        )
        self.sources = sources_reconciler.GitRepositoryReconciler(
            kube_client,
            store=store,
            workdir=config.sources.storage_dir / "git",
            allowed_schemes=config.sources.allowed_schemes,
            limits=artifacts.Limits(
                max_files=config.sources.max_files,
                max_file_bytes=config.sources.max_file_bytes,
                max_total_bytes=config.sources.max_total_bytes,
            ),
            gate=self.gate,
            platform_namespace=config.platform_namespace,
            sandbox=sandbox,
            metrics=metrics,
            on_revision=self.on_new_revision,
            namespaces=self.namespaces,
            tenant_view=self.live_index,
            cached=self.syncs.cached_source,  # one cache of GitRepository bodies, the sync's
            trace_signer=trace_signer,
            bounds=bounds,
            budget=budget,
            network_policy=network_policy,
        )
        self.source_controller = (
            controller.Controller(
                "source",
                requests.attributed("GitRepository", self.reconcile_source, recorder),
                workers=config.sources.workers,
                resync=float("inf"),
                group_of=group_of,
            )
            if self.features.sources
            else None
        )
        # -- OCIRepository sources (issue 23): the same store, switch and network policy as Git.
        self.oci_sources = ocireconciler.OCIRepositoryReconciler(
            kube_client,
            store=store,
            workdir=config.sources.storage_dir / "oci",
            limits=artifacts.Limits(
                max_files=config.sources.max_files,
                max_file_bytes=config.sources.max_file_bytes,
                max_total_bytes=config.sources.max_total_bytes,
            ),
            config=config.oci,
            gate=self.gate,
            platform_namespace=config.platform_namespace,
            metrics=metrics,
            on_revision=self.on_new_oci_revision,
            namespaces=self.namespaces,
            tenant_view=self.live_index,
            cached=lambda ns, name: self.syncs.cached_source(ns, name, ocireconciler.KIND),
            network_policy=network_policy,
            bounds=bounds,
            budget=budget,
        )
        self.oci_controller = (
            controller.Controller(
                "ocirepository",
                requests.attributed(ocireconciler.KIND, self.reconcile_oci_source, recorder),
                workers=config.oci.workers,
                resync=float("inf"),
                group_of=group_of,
            )
            if self.features.sources
            else None
        )
        # -- end OCIRepository sources

        # Image automation (its own switch): scans, policies, commits back to Git.
        self.images = (
            images_part.Images(
                kube_client,
                config=config,
                gate=self.gate,
                namespaces=self.namespaces,
                network_policy=network_policy,
                bounds=bounds,
                group_of=group_of,
                may_own=self.router.may_own_key,
                owns=self.router.owns_key,
                on_pushed=self._pushed,
            )
            if self.features.images
            else None
        )

        # Helm: repositories with the sources, releases with the sync (the same switches).
        chart_store = ChartStore(config.sources.storage_dir / "helm")
        access = helm_access.Access(
            kube_client,
            gate=self.gate,
            namespaces=self.namespaces,
            allowed_schemes=config.sources.allowed_schemes,
            network_policy=network_policy,
            platform_namespace=config.platform_namespace,
        )
        self.helm_repositories = HelmRepositoryReconciler(
            kube_client,
            store=chart_store,
            access=access,
            max_index_bytes=config.helm.max_index_bytes,
            bounds=bounds,
            on_index=self.on_new_index,
        )
        helm_binary = parts.helm(config) if self.features.sync else None
        # What releases installed, watched by their own labels (a tracker and watches apart
        # from the syncs': an object is one owner's or the other's).
        self.helm_drift = (
            DriftTracker(owner=(api_labels.HELMRELEASE_NAME, api_labels.HELMRELEASE_NAMESPACE))
            if drift_on
            else None
        )
        self.helm_drift_watches = (
            drift_watches.DriftWatches(
                kube_client,
                self.helm_drift,
                self.on_helm_drift,
                self.fleet,
                label_selector=api_labels.HELMRELEASE_NAME,
            )
            if self.helm_drift is not None
            else None
        )
        self.helm_releases = HelmReleaseReconciler(
            kube_client,
            helm=Helm(
                helm_binary,
                sandbox,
                config.sources.storage_dir / "helm" / "runs",
                kustomize=self.syncs.kustomize,
            )
            if helm_binary is not None
            else None,
            store=chart_store,
            access=access,
            chart_limits=helm_charts.Limits(
                archive_bytes=config.helm.max_chart_bytes,
                file_bytes=config.helm.max_chart_file_bytes,
                total_bytes=config.helm.max_chart_total_bytes,
                files=config.helm.max_chart_files,
            ),
            platform_namespace=config.platform_namespace,
            bounds=bounds,
            tenant_view=self.live_index,
            drift=self.helm_drift,
            artifacts_store=store,
            cached=self._helm_cached,
        )
        self.helm_repository_controller = (
            controller.Controller(
                "helmrepository",
                requests.attributed("HelmRepository", self.reconcile_helm_repository, recorder),
                workers=config.helm.workers,
                resync=float("inf"),
                group_of=group_of,
            )
            if self.features.sources
            else None
        )
        self.helm_release_controller = (
            controller.Controller(
                "helmrelease",
                requests.attributed("HelmRelease", self.reconcile_helm_release, recorder),
                workers=config.helm.workers,
                resync=float("inf"),
                group_of=group_of,
            )
            if self.features.sync
            else None
        )

        self.reloader = policy_reloader.Reloader(
            self.gate,
            policy_sources.reader(
                config, kube_client=kube_client, store=store, cached=self.syncs.cached_source
            ),
            interval=config.policy.reload_interval,
            on_loaded=self.on_policy_loaded,
            on_invalid=self.on_policy_invalid,
            metrics=metrics,
        )
        # The record, published to the platform namespace for `landlord policy diff --live`.
        self.requests_publisher = (
            policy_requests.Publisher(
                kube_client,
                recorder,
                namespace=config.platform_namespace,
                shard=config.shard.name,
                interval=config.policy.publish_interval,
                digest=lambda: self.gate.policy.digest if self.gate.policy is not None else "",
            )
            if recorder is not None
            else None
        )

    # -- what runs, and the watches it needs ------------------------------------

    def controllers(self) -> list[controller.Controller]:
        """The controllers the features leave running."""
        return [
            c
            for c in (
                self.tenant_controller,
                self.source_controller,
                self.oci_controller,
                self.sync_controller,
                self.cluster_controller,
                self.helm_repository_controller,
                self.helm_release_controller,
                *self.notifications.controllers.values(),
                *(self.images.controllers.values() if self.images is not None else ()),
            )
            if c is not None
        ]

    def owned_kinds(self) -> list[tuple[str, str]]:
        """The kinds a Tenant owns that the features let it create (one watch each)."""
        return [
            (api_version, kind)
            for api_version, kind, feature in OWNED
            if feature is None or getattr(self.features, feature)
        ]

    async def start(self) -> None:
        """Remove what switched-off features left, wait for a policy, start the controllers."""
        await asyncio.to_thread(retire.leftovers, self.config, self.features, self.kube)
        await asyncio.to_thread(self.reloader.check)  # decisions wait for the first policy
        self.reloader.start()
        if self.requests_publisher is not None:
            # What this shard (or the replica it replaces) recorded before: kept.
            await asyncio.to_thread(self.requests_publisher.restore)
        self._loop = asyncio.get_running_loop()
        if self.kube.credentials is not None:
            self.kube.credentials.on_change.append(self._credentials_changed)
        self.outage = outage.Outage(self._apiserver_answers)
        self.outage.on_back.append(lambda: self._retry_failing("the apiserver is back"))
        for each in self.controllers():
            each.outage = self.outage
        self.local_watches.start()
        self.notifications.start(self._loop)
        if self.images is not None:
            self.images.start(self._loop)
        for each in self.controllers():
            each.start()
        if self.requests_publisher is not None:
            self.requests_publisher.start()
        log.info(
            "controllers started: %s",
            ", ".join(c.name for c in self.controllers()),
            extra={"features": _switches(self.features)},
        )
        if self.on_started is not None:
            await asyncio.to_thread(self.on_started)

    def _credentials_changed(self) -> None:
        """New credentials: what failed while the old ones were refused is retried now."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._retry_failing, "new credentials")

    def _retry_failing(self, why: str) -> None:
        """Every key in backoff, in every controller, reconciled now (on the event loop)."""
        failing = sum(each.retry_failing_now() for each in self.controllers())
        log.info("%s: %d reconcile(s) in backoff retried now", why, failing)

    def _apiserver_answers(self) -> bool:
        """Whether the apiserver answered one request (whatever it said)."""
        try:
            self.kube.raw_get("/version")
        except errors.ApiError as error:
            return not error.unanswered
        return True

    def readiness(self) -> tuple[bool, str]:
        """Whether the operator works: a policy in force and its controllers started."""
        if self.gate.policy is None:
            return False, "starting: no policy loaded yet"
        if self._loop is None:
            return False, "starting: controllers not started yet"
        return True, "ok: policy loaded, controllers running"

    async def stop(self) -> None:
        """Stop the API hook, the reloader, the watches, then the controllers and their pools."""
        if self.on_stopping is not None:
            await asyncio.to_thread(self.on_stopping)
        self.reloader.stop()
        if self.outage is not None:
            self.outage.stop()
        self.local_watches.stop()
        self.tenant_watches.stop()
        if self.drift_watches is not None:
            self.drift_watches.stop()
        if self.helm_drift_watches is not None:
            self.helm_drift_watches.stop()
        for each in self.controllers():
            await each.stop()
        await asyncio.to_thread(self.notifications.stop)
        if self.requests_publisher is not None:  # once more, with what the last reconciles asked
            await asyncio.to_thread(self.requests_publisher.stop)
        if self.apply_executor is not None:
            await asyncio.to_thread(self.apply_executor.shutdown, wait=True)

    # -- watch events (on the event loop) -----------------------------------------

    def tenant_changed(
        self,
        name: str,
        delay: float = 0.0,
        labels: Mapping[str, str] | None = None,
        fingerprint: object = None,
        *,
        deleted: bool = False,
    ) -> None:
        """A Tenant changed (``labels``: its labels, which say its shard).

        ``fingerprint``: what of the Tenant a reconcile acts on (all but its status);
        an event that leaves it as last seen — the operator's own status write — is
        not a change (issue 18: each one cost a full reconcile).
        """
        if labels is not None:
            self._tenant_here[name] = self.router.owns_tenant(labels)
            if not self._tenant_here[name]:
                # Another shard's (one that moved away is let go by its next reconcile);
                # forgotten, so that coming back is a change even if nothing else is.
                self._tenant_seen.pop(name, None)
                return
        if deleted:
            self._tenant_seen.pop(name, None)
        elif fingerprint is None:
            pass  # not from its own watch (something it owns changed): a change
        elif self._tenant_seen.get(name) == fingerprint:
            return
        else:
            self._tenant_seen[name] = fingerprint
        self.changes.mark(name)
        self.tenant_controller.enqueue(name, delay)

    def owned_changed(self, tenant: str) -> None:
        """Something a Tenant owns changed: routed by the Tenant's shard.

        Not by the object's own labels: a tenant may relabel its RoleBindings, not its Tenant.
        """
        if self._tenant_here.get(tenant, True):  # unknown yet: its reconcile decides
            self.tenant_changed(tenant, DEBOUNCE)

    def cluster_changed(self, name: str, fingerprint: object, *, deleted: bool = False) -> None:
        """A Cluster's spec, annotations or deletion changed: connect again, and probe it.

        Not on its status writes (the probe's own): those would probe again at once.
        """
        if not deleted and self._cluster_seen.get(name) == fingerprint:
            return
        self._cluster_seen[name] = fingerprint
        if deleted:  # its Tenants say so now, not at their next full resync
            self._cluster_seen.pop(name, None)
            self._cluster_moved(name)
        self.fleet.forget(name)
        self.cluster_controller.enqueue(name)

    def _tenants_namespace(self, tenant: str, namespace: str) -> bool:
        """Whether ``namespace`` is one of ``tenant``'s (as labelled here, the same everywhere)."""
        return (self.namespaces.get(namespace) or {}).get(api_labels.TENANT) == tenant

    def _cluster_moved(self, name: str) -> None:
        """A Cluster left, or answers with a newly accepted identity: its Tenants look again."""
        for item in self.kube.list_objects(api.API_VERSION, "Tenant"):
            if name in ((item.get("spec") or {}).get("clusters") or []):
                tenant = item["metadata"]["name"]
                self.changes.mark(tenant)
                self._wake(self.tenant_controller, tenant)

    def _owned_elsewhere(self, tenant: str) -> None:
        """Something a Tenant owns changed (a watch thread's news, here or on another cluster)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.owned_changed, tenant)

    def source_changed(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A GitRepository event (the sources feature is on)."""
        self.syncs.remember(dict(body), deleted=deleted)
        self.router.seen({"kind": "GitRepository", **body}, deleted=deleted)
        if self.source_controller is not None and self.router.may_own_key(_key(body)):
            self.source_controller.enqueue(_key(body))

    def oci_source_changed(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        """An OCIRepository event (the sources feature is on)."""
        self.syncs.remember({**body, "kind": ocireconciler.KIND}, deleted=deleted)
        self.router.seen({**body, "kind": ocireconciler.KIND}, deleted=deleted)
        if self.oci_controller is not None and self.router.may_own_key(_key(body)):
            self.oci_controller.enqueue(_key(body))

    def sync_changed(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A Kustomization event (the sync feature is on)."""
        key = _key(body)
        self.syncs.remember(dict(body), deleted=deleted)
        self.router.seen({"kind": sharding.KIND, **body}, deleted=deleted)
        if self.sync_controller is None:
            return
        if self.router.may_own_key(key) or self.router.held(key):
            self.sync_controller.enqueue(key)
        else:  # another shard's: those of ours that wait on it may go on
            ready = conditions.ready_at_generation(dict(body))
            for dependent in self.syncs.ready(key) if ready else self.syncs.waiting_on(key):
                self.sync_controller.enqueue(dependent)

    def _helm_cached(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A Helm kind's body as its watch last saw it (GitRepositories: the sync's cache)."""
        if kind == "GitRepository":
            return self.syncs.cached_source(namespace, name)
        if kind == ocireconciler.KIND:  # a chartRef's source: the sync's cache too
            return self.syncs.cached_source(namespace, name, kind)
        found = self._helm_bodies.get((kind, f"{namespace}/{name}"))
        due = self._index_due.get(f"{namespace}/{name}") if kind == "HelmRepository" else None
        if found is not None and due is not None:
            held = ((found.get("status") or {}).get("artifact") or {}).get("digest")
            if held != due:
                return None  # behind the index just stored: read it afresh
            self._index_due.pop(f"{namespace}/{name}", None)
        return found

    def _remember_helm(self, kind: str, body: Mapping[str, Any], *, deleted: bool) -> None:
        if deleted:
            self._helm_bodies.pop((kind, _key(body)), None)
        else:
            self._helm_bodies[(kind, _key(body))] = dict(body)

    def helm_repository_changed(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A HelmRepository event (the sources feature is on)."""
        key = _key(body)
        self._remember_helm("HelmRepository", body, deleted=deleted)
        if self.helm_repository_controller is not None and self.router.may_own_key(key):
            self.helm_repository_controller.enqueue(key)

    def helm_release_changed(self, body: Mapping[str, Any], *, deleted: bool) -> None:
        """A HelmRelease event (the sync feature is on); status-only writes are not changes."""
        key = _key(body)
        self._remember_helm("HelmRelease", body, deleted=deleted)
        metadata = body.get("metadata") or {}
        fingerprint = (
            metadata.get("generation"),
            metadata.get("deletionTimestamp"),
            tuple(metadata.get("finalizers") or ()),
            (metadata.get("annotations") or {}).get(api_labels.REQUESTED_AT),
        )
        if not deleted and self._release_seen.get(key) == fingerprint:
            return
        self._release_seen[key] = fingerprint
        if deleted:
            self._release_seen.pop(key, None)
        if self.helm_release_controller is not None and self.router.may_own_key(key):
            self.helm_release_controller.enqueue(key)

    def namespace_changed(self, name: str, labels: Mapping[str, str], *, deleted: bool) -> None:
        """Every namespace's labels: the policy subject and the shard of what lives in it."""
        before = self.namespaces.get(name)
        self.namespaces.update(name, labels, deleted=deleted)
        for kind, key in self.router.moved(name, before):  # moved to or from this shard
            target = {
                sharding.KIND: self.sync_controller,
                ocireconciler.KIND: self.oci_controller,
            }.get(kind, self.source_controller)
            if target is not None:
                target.enqueue(key)

    # -- reconciles (on the controllers' threads) ---------------------------------

    def reconcile_tenant(self, name: str) -> Any:
        """Reconcile a Tenant unless nothing about it changed since it was last Ready."""
        if self.changes.quiet(name) and self.tenants.settled(name):
            return Outcome(True, skipped=True)  # no requeue: the resync asks again
        self.changes.taken(name)
        outcome = self.tenants.reconcile(name)
        self.tenant_watches.ensure({member.name for member in self.fleet.cached()})
        return outcome

    def reconcile_cluster(self, name: str) -> Outcome | None:
        """Probe one Cluster and keep its status; hold its deletion while it is in use."""
        outcome = self.clusters.reconcile(name)
        self.tenant_watches.ensure({member.name for member in self.fleet.cached()})
        return outcome

    def reconcile_source(self, key: str) -> Outcome | None:
        """Fetch one GitRepository, if it is this shard's."""
        if not self.router.owns_key(key):
            return None
        return self.sources.reconcile(key)

    def reconcile_oci_source(self, key: str) -> Outcome | None:
        """Pull one OCIRepository, if it is this shard's."""
        if not self.router.owns_key(key):
            return None
        return self.oci_sources.reconcile(key)

    def reconcile_sync(self, key: str) -> Outcome | None:
        """Sync one Kustomization of this shard; once it is Ready, wake those that depend on it.

        One that moved to another shard is released (after any reconcile of it in
        flight: the controller runs one per key at a time); one that moved here
        waits until its old shard released it (landlord.runtime.shards).
        """
        if not self.router.owns_key(key):
            if self.router.release(key):
                self.syncs.forget(key)
            return None
        waiting = self.router.admit(key)
        if waiting is not None:
            return waiting
        outcome = self.syncs.reconcile(key)
        if outcome is not None and not outcome.skipped and self.drift_watches is not None:
            self.drift_watches.ensure(self.syncs.drift.scopes(key))
        if outcome is None and self.drift_watches is not None:  # gone: its watches may go
            self.drift_watches.retain(self.syncs.drift.scopes())
        if outcome is not None and outcome.ready and not outcome.skipped:
            for dependent in self.syncs.ready(key):
                self._wake(self.sync_controller, dependent)
        return outcome

    def reconcile_helm_repository(self, key: str) -> Outcome | None:
        """Fetch one HelmRepository's index, if it is this shard's."""
        if not self.router.owns_key(key):
            return None
        return self.helm_repositories.reconcile(key)

    def reconcile_helm_release(self, key: str) -> Outcome | None:
        """Install or upgrade one HelmRelease, if it is this shard's."""
        if not self.router.owns_key(key):
            return None
        outcome = self.helm_releases.reconcile(key)
        if outcome is not None and outcome.ready and not outcome.skipped:
            for dependent in self.helm_releases.waiting_on(key):
                self._wake(self.helm_release_controller, dependent)
        if self.helm_drift is not None and self.helm_drift_watches is not None:
            if outcome is None:  # gone: its watches may go
                self.helm_drift_watches.retain(self.helm_drift.scopes())
            else:
                self.helm_drift_watches.ensure(self.helm_drift.scopes(key))
        return outcome

    # -- what happens between them (on worker, watch and reloader threads) --------

    def on_new_revision(self, namespace: str, name: str, revision: str) -> None:
        """A source fetched a new revision: wake the Kustomizations using it."""
        self.syncs.source_moved(namespace, name, revision)  # first: the cache is behind now
        if (namespace, name) == (self.config.platform_namespace, policy_sources.PLATFORM_SOURCE):
            self.reloader.check()  # a new platform revision may bring a new policy: now
        for key in self.syncs.dependents(namespace, name):
            self._wake(self.sync_controller, key)
        for key in self.helm_releases.source_moved("GitRepository", namespace, name):
            self._wake(self.helm_release_controller, key)

    def on_new_oci_revision(self, namespace: str, name: str, revision: str) -> None:
        """An OCIRepository pulled a new revision: wake the Kustomizations using it."""
        kind = ocireconciler.KIND
        self.syncs.source_moved(namespace, name, revision, kind)  # first: the cache is behind
        for key in self.syncs.dependents(namespace, name, kind):
            self._wake(self.sync_controller, key)
        for key in self.helm_releases.source_moved(kind, namespace, name):  # chartRef users
            self._wake(self.helm_release_controller, key)

    def on_new_index(self, namespace: str, name: str, digest: str) -> None:
        """A HelmRepository stored a new index: the releases using it look again."""
        # Until the watch delivers the body that holds it, the cached one is not used.
        self._index_due[f"{namespace}/{name}"] = digest
        for key in self.helm_releases.source_moved("HelmRepository", namespace, name):
            self._wake(self.helm_release_controller, key)

    def on_helm_drift(self, key: str) -> None:
        """A watch saw an object a release installed change: its reconcile repairs or reports."""
        self._wake(self.helm_release_controller, key, DEBOUNCE)

    def on_drift(self, key: str) -> None:
        """A watch saw an applied object change: repair at once (debounced: edits burst)."""
        self._wake(self.sync_controller, key, DEBOUNCE)

    def on_policy_loaded(self, loaded: policy.Policy, changed: bool) -> None:
        """A new policy is in force: every source and sync is decided again, now."""
        events.record(
            self.kube,
            self._platform(),
            reason="PolicyLoaded",
            message=f"{loaded.lines} rules from {loaded.snapshot.origin} ({loaded.digest[:19]})",
        )
        if self._loop is None or not changed:
            return  # start-up (the controllers see every object when they start) or same rules
        for kind, target in (
            ("GitRepository", self.source_controller),
            (ocireconciler.KIND, self.oci_controller),
            ("Kustomization", self.sync_controller),
            ("HelmRepository", self.helm_repository_controller),
            ("HelmRelease", self.helm_release_controller),
            *self.notifications.controllers.items(),  # Alerts and Receivers name others'
            *(self.images.controllers.items() if self.images is not None else ()),
        ):
            if target is None:
                continue
            for item in self.kube.list_objects(api.API_VERSION, kind):
                self._wake(target, _key(item))

    def on_policy_invalid(self, snapshot: policy.engine.Snapshot | None, problem: str) -> None:
        """A policy was refused: say which one stays in force."""
        kept = self.gate.policy
        events.record(
            self.kube,
            self._platform(),
            reason="PolicyInvalid",
            message=(
                f"policy from {snapshot.origin if snapshot else 'its source'} rejected: "
                f"{problem[:800]}; "
                + (
                    f"the previous policy ({kept.digest[:19]}) stays in force"
                    if kept
                    else "no policy is in force, every gated edge is denied"
                )
            ),
            warning=True,
        )

    def _pushed(self, namespace: str, name: str) -> None:
        """Image automation pushed to a GitRepository: fetch it now, not on its interval."""
        key = f"{namespace}/{name}"
        self.sources.due_now(key)
        self._wake(self.source_controller, key)

    def _wake(self, target: controller.Controller | None, key: str, delay: float = 0.0) -> None:
        """Enqueue ``key`` from any thread (nothing before start-up, or if switched off)."""
        if target is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(target.enqueue, key, delay)

    def _platform(self) -> dict[str, Any]:
        name = self.config.platform_namespace
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _key(body: Mapping[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def _switches(features: Features) -> dict[str, bool]:
    """The switches as a log field."""
    return {name: bool(getattr(features, name)) for name in features.names()}
