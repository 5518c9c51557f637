"""Reconcile one OCIRepository: when it is due, pull within budget and write its status.

The same shape as the GitRepository reconciler (:mod:`landlord.sources.reconciler`):
this module decides whether anything is due (the spec, the policy or a
requested reconcile changed, or the interval passed) and holds the bounds on
durations; the pull is :mod:`landlord.sources.ocifetch`, the status
:mod:`landlord.sources.status`. A failure keeps the last good artifact, so
nothing downstream prunes because of it.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api, policy, settings, telemetry
from landlord.api import (
    gitrepository,
    invalid,
    labels,
    names,
    ocirepository,
    reasons,
)
from landlord.api.ocirepository import OCIRepositorySpec
from landlord.git import network
from landlord.gitops import artifacts, budgets, durations
from landlord.kube import Kube
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.runtime.tenantview import TenantView
from landlord.sources import ocifetch, status, tenancy
from landlord.sources import schedule as schedule_mod

KIND = ocirepository.KIND
DEFAULT_INTERVAL = durations.parse(ocirepository.DEFAULT_INTERVAL)
DEFAULT_TIMEOUT = durations.parse(ocirepository.DEFAULT_TIMEOUT)

Cached = Callable[[str, str], dict[str, Any] | None]


class OCIRepositoryReconciler:
    """Pulls OCIRepositories into the artifact store."""

    def __init__(
        self,
        kube: Kube,
        *,
        store: artifacts.ArtifactStore,
        workdir: pathlib.Path,
        limits: artifacts.Limits,
        config: settings.OciSettings,
        gate: policy.Gate,
        platform_namespace: str,
        metrics: telemetry.Metrics | None = None,
        on_revision: status.OnRevision | None = None,
        namespaces: NamespaceLabels | None = None,
        tenant_view: TenantView | None = None,
        cached: Cached | None = None,
        network_policy: network.NetworkPolicy | None = None,
        bounds: durations.Bounds | None = None,
        budget: budgets.Budgets | None = None,
        client_factory: ocifetch.ClientFactory | None = None,
    ) -> None:
        self.kube = kube
        self.bounds = bounds or durations.Bounds()
        self.gate = gate
        self.cached = cached  # the OCIRepository as its watch last delivered it
        self.store = store
        self.workdir = workdir
        self.on_revision = on_revision
        self.platform_namespace = platform_namespace
        self.budget = budget or budgets.Budgets()
        self.schedule = schedule_mod.Schedule(gate)
        self.tenancy = tenancy.Tenancy(kube, namespaces or NamespaceLabels(), tenant_view)
        self.fetcher = ocifetch.OciFetcher(
            kube,
            tenancy=self.tenancy,
            store=store,
            workdir=workdir,
            limits=limits,
            config=config,
            gate=gate,
            platform_namespace=platform_namespace,
            bounds=self.bounds,
            default_timeout=DEFAULT_TIMEOUT,
            network_policy=network_policy,
            metrics=metrics,
            client_factory=client_factory,
        )

    def reconcile(self, key: str) -> Outcome | None:
        """Bring ``namespace/name`` up to date; None when the OCIRepository is gone."""
        namespace, _, name = key.partition("/")
        body = (self.cached(namespace, name) if self.cached else None) or self.kube.get(
            api.API_VERSION, KIND, name, namespace
        )
        if body is None or body["metadata"].get("deletionTimestamp"):
            self._forget(key, namespace, name)
            return None
        current = body.get("status") or {}
        previous = current.get("artifact")
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        waiting = self.schedule.waiting(key, body)
        if waiting is not None:
            return waiting
        try:
            spec = OCIRepositorySpec.of(body)
        except pydantic.ValidationError as error:
            return self._refuse(body, reasons.INVALID_SPEC, invalid.describe(error), requested)
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            every = durations.interval(spec.durations(), "interval", DEFAULT_INTERVAL, self.bounds)
            durations.timeout(spec.durations(), "timeout", DEFAULT_TIMEOUT, self.bounds)
        except durations.OutOfBoundsError as error:
            return self._refuse(body, reasons.INVALID_DURATION, str(error), requested)
        self.schedule.decided(key)
        url = current.get("url")
        with telemetry.span("source.reconcile", {"landlord.source": f"{KIND}/{key}"}):
            problems = names.git_repository(body.get("spec") or {})  # the same Secret names
            problems += names.git_repository(
                {"secretRef": (body.get("spec") or {}).get("certSecretRef")}
            )
            if problems:
                outcome = Outcome(
                    False, reasons.INVALID_SPEC, names.summary(problems), stalled=True
                )
                artifact = previous
            else:
                outcome, artifact, pulled = self._within_budget(namespace, name, spec, previous)
                url = pulled or url
        interval = self.schedule.planned(key, every)
        outcome = dataclasses.replace(outcome, requeue_after=None if outcome.stalled else interval)
        extra = {"url": url} if url else None
        status.write(self.kube, body, outcome, artifact, requested, self.on_revision, extra)
        return outcome

    def _within_budget(
        self,
        namespace: str,
        name: str,
        spec: OCIRepositorySpec,
        previous: ocifetch.Artifact | None,
    ) -> tuple[Outcome, ocifetch.Artifact | None, str | None]:
        """The pull, unless the tenant's artifact bytes are used up (BudgetExceeded).

        The byte budget covers a tenant's Git and OCI artifacts together, the
        older sources first; the count budget (``git_repositories``) is Git's alone.
        """
        if namespace == self.platform_namespace:
            return self.fetcher.fetch(namespace, name, spec, previous)
        tenant, sources = self._sources(namespace)
        stored = {
            f"{ns}/{n}": self.store.stored_bytes(ns, n)
            for ns, n in ((s["metadata"]["namespace"], s["metadata"]["name"]) for s in sources)
        }
        key = f"{namespace}/{ocirepository.store_name(name)}"
        why = budgets.over_bytes(
            key, sources, stored, own=None, limit=self.budget.artifact_bytes, tenant=tenant
        )
        if why:
            return Outcome(False, reasons.BUDGET_EXCEEDED, why), previous, None
        outcome, artifact, url = self.fetcher.fetch(namespace, name, spec, previous)
        if not outcome.ready or artifact is None:
            return outcome, artifact, url
        found = self.store.lookup(
            namespace,
            ocirepository.store_name(name),
            ocirepository.artifact_key(artifact["revision"], spec.model_dump(by_alias=True)),
        )
        why = budgets.over_bytes(
            key,
            sources,
            stored,
            own=found.size if found else 0,
            limit=self.budget.artifact_bytes,
            tenant=tenant,
        )
        if why:
            return Outcome(False, reasons.BUDGET_EXCEEDED, why), previous, url
        return outcome, artifact, url

    def _sources(self, namespace: str) -> tuple[str, list[dict[str, Any]]]:
        """The tenant's GitRepositories and OCIRepositories, each named as stored."""
        tenant, found = self.tenancy.sources_of(namespace, kinds=(gitrepository.KIND, KIND))
        return tenant, [
            {
                **item,
                "metadata": {
                    **item["metadata"],
                    "name": ocirepository.store_name(item["metadata"]["name"]),
                },
            }
            if item.get("kind") == KIND
            else item
            for item in found
        ]

    def _refuse(
        self, body: dict[str, Any], reason: str, message: str, requested: str | None
    ) -> Outcome:
        """A spec that cannot be pulled as written: Stalled, the last artifact kept."""
        metadata = body["metadata"]
        self.schedule.due_now(f"{metadata['namespace']}/{metadata['name']}")
        refused = Outcome(False, reason, message, stalled=True)
        previous = (body.get("status") or {}).get("artifact")
        status.write(self.kube, body, refused, previous, requested)
        return refused

    def _forget(self, key: str, namespace: str, name: str) -> None:
        self.store.remove(namespace, ocirepository.store_name(name))
        shutil.rmtree(self.workdir / namespace / name, ignore_errors=True)
        self.schedule.forget(key)
