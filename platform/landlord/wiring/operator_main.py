"""``landlord run``: the kopf operator that feeds Landlord's controllers."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from landlord import api, kube, onboarding, policy, telemetry
from landlord import settings as settings_mod
from landlord.api import labels as api_labels
from landlord.cluster import binaries
from landlord.gitops import artifacts, budgets, durations, sandbox
from landlord.kube import events
from landlord.policy import reloader as policy_reloader
from landlord.runtime import controller
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.sources import network
from landlord.sources import reconciler as sources_reconciler
from landlord.sync import reconciler as sync_reconciler
from landlord.tenants import features as features_mod
from landlord.tenants import reconciler
from landlord.wiring import api_main, drift_watches, policy_sources

log = logging.getLogger(__name__)

# A Ready Tenant none of whose objects changed is reconciled in full this often
# anyway (the 5-minute resync only looks at Tenants that something happened to).
TENANT_FULL_RESYNC = 3600.0

# Watch events on owned objects arrive in bursts (a provisioning writes ten
# objects); wait this long so the burst becomes one reconcile.
DEBOUNCE = 0.1

# (group, version, plural, feature that creates them or None)
OWNED: tuple[tuple[str, str, str, str | None], ...] = (
    ("", "v1", "namespaces", None),
    ("", "v1", "serviceaccounts", None),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", None),
    ("", "v1", "resourcequotas", "quotas"),
    ("", "v1", "limitranges", "limit_ranges"),
    ("networking.k8s.io", "v1", "networkpolicies", "network_isolation"),
    (api.GROUP, api.VERSION, "gitrepositories", None),
    (api.GROUP, api.VERSION, "kustomizations", None),
)


def build_registry(
    config: settings_mod.Settings,
    *,
    kube_client: kube.Kube,
    metrics: telemetry.Metrics,
    resync: float = 300.0,
    gate: policy.Gate | None = None,
    on_started: Callable[[], None] | None = None,
    on_stopping: Callable[[], None] | None = None,
) -> kopf.OperatorRegistry:
    """A kopf registry whose handlers feed the tenant controller.

    ``on_started`` runs once the first policy is in force and the controllers
    run (the onboarding API starts there); ``on_stopping`` first thing at cleanup.
    """
    registry = kopf.OperatorRegistry()
    features = features_mod.Features.from_flags(config.features)
    # Every duration a tenant sets is held to these (refused, not clamped, outside them).
    bounds = durations.bounds_of(config.limits)
    # Which traceparents are Landlord's (signed by the API, then by the tenant operator).
    trace_signer = onboarding.trace_signer(
        kube_client,
        platform_namespace=config.platform_namespace,
        secret_name=config.api.trace_key_secret,
    )
    tenants = reconciler.TenantReconciler(
        kube_client,
        features=features,
        platform_namespace=config.platform_namespace,
        metrics=metrics,
        trace_signer=trace_signer,
    )
    changed = controller.Changes(full_every=TENANT_FULL_RESYNC)

    def reconcile_tenant(name: str) -> Any:
        """Reconcile a Tenant unless nothing about it changed since it was last Ready."""
        if changed.quiet(name) and tenants.settled(name):
            return Outcome(True, skipped=True)  # no requeue: the resync asks again
        changed.taken(name)
        return tenants.reconcile(name)

    tenant_controller = controller.Controller("tenant", reconcile_tenant, resync=resync)
    loop: list[asyncio.AbstractEventLoop] = []  # set at start-up; workers call into it
    store = artifacts.ArtifactStore(config.sources.storage_dir / "artifacts")
    gate = gate or policy.Gate(metrics=metrics)
    namespaces = NamespaceLabels()
    # One tenant's keys (all of its namespaces) take at most half of a controller's workers.
    fairness_group = _fairness_group(namespaces)
    build_sandbox = _sandbox(config)
    budget = budgets.Budgets(**config.budgets.model_dump())  # LANDLORD_BUDGETS__*
    syncs = sync_reconciler.KustomizationReconciler(
        kube_client,
        store=store,
        platform_namespace=config.platform_namespace,
        kustomize=_kustomize(config),
        sandbox=build_sandbox,
        gate=gate,
        metrics=metrics,
        namespaces=namespaces,
        workers=config.sync.workers,
        write_rate=config.sync.write_rate,
        write_burst=config.sync.write_burst,
        trace_signer=trace_signer,
        bounds=bounds,
        budgets=budget,
    )

    def wake_on_drift(key: str) -> None:
        """Called from a watch thread: repair at once (debounced: edits come in bursts)."""
        loop[0].call_soon_threadsafe(sync_controller.enqueue, key, DEBOUNCE)

    watches = drift_watches.DriftWatches(kube_client, syncs.drift, wake_on_drift)

    def reconcile_sync(key: str) -> Outcome | None:
        """Sync one Kustomization; once it is Ready, wake those that depend on it."""
        outcome = syncs.reconcile(key)
        if outcome is not None and not outcome.skipped:
            watches.ensure(syncs.drift.kinds(key))
        if outcome is not None and outcome.ready and not outcome.skipped:
            for dependent in syncs.waiting_on(key):
                loop[0].call_soon_threadsafe(sync_controller.enqueue, dependent)
        return outcome

    sync_controller = controller.Controller(
        "sync", reconcile_sync, resync=float("inf"), group_of=fairness_group
    )

    def new_revision(namespace: str, name: str, revision: str) -> None:
        """Called from a source worker thread: wake the Kustomizations using it."""
        syncs.source_moved(namespace, name, revision)  # first: the cache is behind now
        if (namespace, name) == (config.platform_namespace, policy_sources.PLATFORM_SOURCE):
            reloader.check()  # a new platform revision may bring a new policy: now, not later
        for key in syncs.dependents(namespace, name):
            loop[0].call_soon_threadsafe(sync_controller.enqueue, key)

    sources = sources_reconciler.GitRepositoryReconciler(
        kube_client,
        store=store,
        workdir=config.sources.storage_dir / "git",
        allowed_schemes=config.sources.allowed_schemes,
        limits=artifacts.Limits(
            max_files=config.sources.max_files,
            max_file_bytes=config.sources.max_file_bytes,
            max_total_bytes=config.sources.max_total_bytes,
        ),
        gate=gate,
        platform_namespace=config.platform_namespace,
        sandbox=build_sandbox,
        metrics=metrics,
        on_revision=new_revision,
        namespaces=namespaces,
        cached=syncs.cached_source,  # one cache of GitRepository bodies, the sync's
        trace_signer=trace_signer,
        bounds=bounds,
        budget=budget,
        network_policy=network.NetworkPolicy.from_settings(
            denied=[*config.sources.denied_networks, *config.sources.cluster_networks],
            allowed=config.sources.allowed_networks,
            apiserver=kube_client.configuration.host,  # always denied to tenants' sources
        ),
    )
    # Sources and syncs run on their own intervals (the outcome's requeue): no resync.
    source_controller = controller.Controller(
        "source", sources.reconcile, resync=float("inf"), group_of=fairness_group
    )

    platform = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": config.platform_namespace},
    }

    def policy_loaded(loaded: policy.Policy, changed: bool) -> None:
        """A new policy is in force: every source and sync is decided again, now."""
        events.record(
            kube_client,
            platform,
            reason="PolicyLoaded",
            message=f"{loaded.lines} rules from {loaded.snapshot.origin} ({loaded.digest[:19]})",
        )
        if not loop or not changed:
            return  # start-up (the controllers see every object when they start) or same rules
        for kind, target in (
            ("GitRepository", source_controller),
            ("Kustomization", sync_controller),
        ):
            for item in kube_client.list_objects(api.API_VERSION, kind):
                key = f"{item['metadata']['namespace']}/{item['metadata']['name']}"
                loop[0].call_soon_threadsafe(target.enqueue, key)

    def policy_invalid(snapshot: policy.engine.Snapshot | None, problem: str) -> None:
        kept = gate.policy
        events.record(
            kube_client,
            platform,
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

    reloader = policy_reloader.Reloader(
        gate,
        policy_sources.reader(
            config, kube_client=kube_client, store=store, cached=syncs.cached_source
        ),
        interval=config.policy.reload_interval,
        on_loaded=policy_loaded,
        on_invalid=policy_invalid,
        metrics=metrics,
    )

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # Landlord posts its own Events
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.error_backoffs = [1, 2, 5]
        await asyncio.to_thread(reloader.check)  # decisions wait for the first policy
        reloader.start()
        loop.append(asyncio.get_running_loop())
        tenant_controller.start()
        source_controller.start()
        sync_controller.start()
        log.info("tenant controller started", extra={"features": features.__dict__})
        if on_started is not None:
            await asyncio.to_thread(on_started)

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        if on_stopping is not None:
            await asyncio.to_thread(on_stopping)
        reloader.stop()
        watches.stop()
        await tenant_controller.stop()
        await source_controller.stop()
        await sync_controller.stop()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        """The watches use the connection the reconcilers use (the same kubeconfig)."""
        connection = kube_client.configuration
        header = str((connection.api_key or {}).get("authorization") or "")
        token = header.partition(" ")[2] or None
        return kopf.ConnectionInfo(
            server=connection.host,
            ca_path=connection.ssl_ca_cert,
            insecure=not connection.verify_ssl,
            certificate_path=connection.cert_file,
            private_key_path=connection.key_file,
            scheme="Bearer" if token else None,
            token=token,
        )

    @kopf.on.event(api.GROUP, api.VERSION, "tenants", registry=registry)
    async def tenant_event(name: str, **_: Any) -> None:
        changed.mark(name)
        tenant_controller.enqueue(name)

    @kopf.on.event(api.GROUP, api.VERSION, "gitrepositories", registry=registry)
    async def source_event(
        name: str, namespace: str | None, event: Mapping[str, Any], **_: Any
    ) -> None:
        deleted = event.get("type") == "DELETED"
        syncs.remember(dict(event["object"]), deleted=deleted)
        source_controller.enqueue(f"{namespace}/{name}")

    @kopf.on.event(api.GROUP, api.VERSION, "kustomizations", registry=registry)
    async def sync_event(
        name: str, namespace: str | None, event: Mapping[str, Any], **_: Any
    ) -> None:
        syncs.remember(dict(event["object"]), deleted=event.get("type") == "DELETED")
        sync_controller.enqueue(f"{namespace}/{name}")

    @kopf.on.event("", "v1", "namespaces", registry=registry)
    async def namespace_event(
        name: str, labels: Mapping[str, str], event: Mapping[str, Any], **_: Any
    ) -> None:
        """Every namespace's labels, for the policy subject of what lives in it."""
        namespaces.update(name, labels, deleted=event.get("type") == "DELETED")

    async def owned_event(labels: Mapping[str, str], **_: Any) -> None:
        changed.mark(labels[api_labels.TENANT])
        tenant_controller.enqueue(labels[api_labels.TENANT], DEBOUNCE)

    for group, version, plural, feature in OWNED:
        if feature is not None and not getattr(features, feature):
            continue  # a disabled feature leaves no watch running
        kopf.on.event(
            group, version, plural, labels={api_labels.TENANT: kopf.PRESENT}, registry=registry
        )(owned_event)
    return registry


def _fairness_group(namespaces: NamespaceLabels) -> Callable[[str], str]:
    """The fairness group of a ``namespace/name`` key: its tenant, else its namespace.

    Grouping by namespace alone would give a tenant with two namespaces every
    worker. The tenant label is the one the tenant operator sets on the
    namespaces it provisions; a namespace not seen yet counts alone.
    """

    def group_of(key: str) -> str:
        namespace = key.partition("/")[0]
        tenant = (namespaces.get(namespace) or {}).get(api_labels.TENANT)
        return f"tenant:{tenant}" if tenant else f"namespace:{namespace}"

    return group_of


def _sandbox(config: settings_mod.Settings) -> sandbox.Sandbox:
    """The build sandbox, probed once; says at start whether builds will run confined."""
    built = sandbox.Sandbox(
        mode=config.sandbox.mode,
        bwrap=config.sandbox.bwrap,
        limits=sandbox.Limits(
            wall_seconds=config.sandbox.wall_seconds,
            cpu_seconds=config.sandbox.cpu_seconds,
            memory_bytes=config.sandbox.memory_bytes,
            output_bytes=config.sandbox.output_bytes,
        ),
    )
    problem = built.check()
    if problem is None:
        log.info("build sandbox: bubblewrap confines every kustomize build and git archive")
    elif config.sandbox.mode == "unconfined":
        log.warning("build sandbox: %s", problem)
    else:
        log.error("build sandbox: %s", problem)
    return built


def _kustomize(config: settings_mod.Settings) -> pathlib.Path | None:
    """The kustomize binary that `landlord cluster build` put in the cache, if any."""
    found = binaries.find(
        "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    if found is None:
        log.warning(
            "kustomize is not built (run `landlord cluster build`); revisions with a "
            "kustomization.yaml will fail to build"
        )
    return found


def with_api(
    config: settings_mod.Settings,
    *,
    kube_client: kube.Kube,
    metrics: telemetry.Metrics,
    gate: policy.Gate | None = None,
) -> kopf.OperatorRegistry:
    """The operator's registry, serving the onboarding API once the operator runs."""
    gate = gate or policy.Gate(metrics=metrics)
    app = api_main.build_app(config, kube_client=kube_client, gate=gate, metrics=metrics)
    server = onboarding.Background(app, config.api.bind)

    def started() -> None:
        server.start()
        log.info("onboarding API listening", extra={"bind": config.api.bind})

    return build_registry(
        config,
        kube_client=kube_client,
        metrics=metrics,
        gate=gate,
        on_started=started,
        on_stopping=server.stop,
    )


def run(config: settings_mod.Settings, *, serve_api: bool = False) -> None:
    """Run the operator (and with ``serve_api`` the onboarding API) until interrupted."""
    telemetry.configure_logging(config.telemetry)
    # kopf logs every handler call at INFO; our own logs say what matters.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    telemetry.configure_tracing(config.telemetry)
    metrics = telemetry.Metrics()
    if config.telemetry.metrics_bind:
        metrics.serve(config.telemetry.metrics_bind)
    kube_client = kube.connect()
    if serve_api:
        registry = with_api(config, kube_client=kube_client, metrics=metrics)
    else:
        registry = build_registry(config, kube_client=kube_client, metrics=metrics)
    kopf.run(registry=registry, clusterwide=True, standalone=True)


class Embedded:
    """The operator (and API) on a thread of this process: Landlord as a library.

    For programs and tests that need Landlord's spans and metrics in their own
    process (an in-memory span exporter sees the whole chain). The kubeconfig's
    connection is used for the watches too (kopf logs in through the client).
    """

    def __init__(
        self,
        config: settings_mod.Settings,
        *,
        kubeconfig: pathlib.Path,
        serve_api: bool = True,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.metrics = metrics or telemetry.Metrics()
        self.kube = kube.connect(kubeconfig)
        self.gate = policy.Gate(metrics=self.metrics)
        build = with_api if serve_api else build_registry
        self.registry = build(config, kube_client=self.kube, metrics=self.metrics, gate=self.gate)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="landlord-operator", daemon=True)

    def _run(self) -> None:
        asyncio.run(
            kopf.operator(
                registry=self.registry,
                clusterwide=True,
                standalone=True,
                stop_flag=self._stop,
                ready_flag=self._ready,
            )
        )

    def start(self, timeout: float = 60.0) -> Embedded:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the embedded operator did not become ready")
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
