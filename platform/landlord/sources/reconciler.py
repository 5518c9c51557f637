"""Reconcile one GitRepository: when it is due, fetch within budget and write its status.

The steps, each in its own module: the budget step (``budget``) around the
fetch step (``fetch``: URL, policy, ref ``selection``, artifact), then the
status (``status``). This module decides whether anything is due (the spec,
the policy or a requested reconcile changed, or the interval passed) and
holds the bounds on durations. A failure keeps the last good artifact, so
nothing downstream prunes because of it.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import pydantic

from landlord import api, policy, telemetry
from landlord.api import gitrepository, invalid, labels, names, reasons
from landlord.api.gitrepository import GitRepositorySpec
from landlord.git import network
from landlord.gitops import artifacts, budgets, durations
from landlord.gitops import sandbox as sandbox_mod
from landlord.kube import Kube
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.runtime.tenantview import TenantView
from landlord.sources import budget as budget_step
from landlord.sources import fetch, status, tenancy
from landlord.sources import schedule as schedule_mod

KIND = gitrepository.KIND
# Used when the object does not set them (the apiserver fills in the CRD's defaults).
DEFAULT_INTERVAL = durations.parse(gitrepository.DEFAULT_INTERVAL)
DEFAULT_TIMEOUT = durations.parse(gitrepository.DEFAULT_TIMEOUT)

Cached = Callable[[str, str], dict[str, Any] | None]


class GitRepositoryReconciler:
    """Fetches GitRepositories into the artifact store."""

    def __init__(
        self,
        kube: Kube,
        *,
        store: artifacts.ArtifactStore,
        workdir: pathlib.Path,
        allowed_schemes: list[str],
        limits: artifacts.Limits,
        gate: policy.Gate,
        platform_namespace: str,
        sandbox: sandbox_mod.Sandbox,
        metrics: telemetry.Metrics | None = None,
        on_revision: status.OnRevision | None = None,
        namespaces: NamespaceLabels | None = None,
        tenant_view: TenantView | None = None,
        cached: Cached | None = None,
        network_policy: network.NetworkPolicy | None = None,
        trace_signer: telemetry.TraceSigner | None = None,
        bounds: durations.Bounds | None = None,
        budget: budgets.Budgets | None = None,
    ) -> None:
        self.kube = kube
        # The platform's bounds on ``interval`` and ``timeout`` (LANDLORD_LIMITS__*).
        self.bounds = bounds or durations.Bounds()
        self.gate = gate
        # The GitRepository as the watch last delivered it: an interval tick reads
        # its spec from there (status writes go out only when they change).
        self.cached = cached
        self.store = store
        self.workdir = workdir
        self.on_revision = on_revision
        self.schedule = schedule_mod.Schedule(gate)
        self.origins = telemetry.Origins(trace_signer)
        whose = tenancy.Tenancy(kube, namespaces or NamespaceLabels(), tenant_view)
        fetcher = fetch.Fetcher(
            kube,
            tenancy=whose,
            store=store,
            workdir=workdir,
            allowed_schemes=allowed_schemes,
            limits=limits,
            gate=gate,
            platform_namespace=platform_namespace,
            sandbox=sandbox,
            bounds=self.bounds,
            default_timeout=DEFAULT_TIMEOUT,
            network_policy=network_policy,
            metrics=metrics,
        )
        self.fetcher = budget_step.BudgetedFetch(
            fetcher,
            tenancy=whose,
            store=store,
            budget=budget or budgets.Budgets(),
            platform_namespace=platform_namespace,
        )

    def reconcile(self, key: str) -> Outcome | None:
        """Bring ``namespace/name`` up to date; None when the GitRepository is gone."""
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
            spec = GitRepositorySpec.of(body)
        except pydantic.ValidationError as error:
            return self._refuse(body, reasons.INVALID_SPEC, invalid.describe(error), requested)
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            every = durations.interval(spec.durations(), "interval", DEFAULT_INTERVAL, self.bounds)
            durations.timeout(spec.durations(), "timeout", DEFAULT_TIMEOUT, self.bounds)
        except durations.OutOfBoundsError as error:
            # Refused, not clamped: Stalled until the spec changes; nothing is fetched.
            return self._refuse(body, reasons.INVALID_DURATION, str(error), requested)
        self.schedule.decided(key)
        traceparent = self.origins.trusted(KIND, body)  # only one Landlord signed
        parent, link = self.origins.parent_and_link(key, traceparent)
        with telemetry.span("source.reconcile", {"landlord.source": key}, parent=parent, link=link):
            problems = names.git_repository(body.get("spec") or {})
            if problems:
                outcome = Outcome(
                    False, reasons.INVALID_SPEC, names.summary(problems), stalled=True
                )
                artifact = previous
            else:
                outcome, artifact = self.fetcher.fetch(namespace, name, spec, previous)
        if outcome.ready:
            self.origins.finished(key, traceparent)
        interval = self.schedule.planned(key, every)
        outcome = dataclasses.replace(outcome, requeue_after=None if outcome.stalled else interval)
        status.write(self.kube, body, outcome, artifact, requested, self.on_revision)
        return outcome

    def due_now(self, key: str) -> None:
        """Make ``namespace/name``'s next reconcile fetch, interval or not.

        Image automation calls it after it pushed to the repository: the commit
        Landlord itself made is fetched at once, not on the next interval.
        """
        self.schedule.due_now(key)

    def _refuse(
        self, body: dict[str, Any], reason: str, message: str, requested: str | None
    ) -> Outcome:
        """A spec that cannot be fetched as written: Stalled, the last artifact kept."""
        metadata = body["metadata"]
        self.schedule.due_now(f"{metadata['namespace']}/{metadata['name']}")
        refused = Outcome(False, reason, message, stalled=True)
        previous = (body.get("status") or {}).get("artifact")
        status.write(self.kube, body, refused, previous, requested)
        return refused

    def _forget(self, key: str, namespace: str, name: str) -> None:
        self.store.remove(namespace, name)
        shutil.rmtree(self.workdir / namespace / name, ignore_errors=True)
        self.schedule.forget(key)
        self.origins.forget(key)
