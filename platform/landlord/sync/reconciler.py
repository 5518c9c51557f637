"""Reconcile one Kustomization: the sync pipeline, calling its named steps in order.

names and cross-namespace references (decided before anything they name is
read) → budget → identity → artifact → dependencies → build → validate →
kinds → apply (dry-run of everything that changed first, then staged
server-side apply) → inventory → prune → health → status. Each step lives in
``sync/steps`` and raises a :class:`SyncError` carrying its Ready reason.
Every request about tenant objects uses a client that impersonates the
Kustomization's service account; only a Kustomization in the platform
namespace may run with the operator's own identity. What the reconciler is
built from, and what it answers between reconciles (watch events, quiet ticks,
wake-ups), is :mod:`landlord.sync.assembly`; the status write is
:mod:`landlord.sync.report`.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import time
from collections.abc import Iterable
from typing import Any

from landlord import api, errors, telemetry
from landlord.api import kustomization as model
from landlord.api import labels, reasons
from landlord.gitops import durations, validate
from landlord.gitops.yamlsafe import Document
from landlord.kube import Kube
from landlord.kube import status as kube_status
from landlord.kube.fleet import Member
from landlord.runtime.outcome import Outcome
from landlord.sync import decryption, healthwait, report
from landlord.sync import inventory as inventory_mod
from landlord.sync.assembly import Steps
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry, Inventory
from landlord.sync.result import Result, Timing
from landlord.sync.steps import build, decrypt, dependencies, health, prune, source, validation
from landlord.sync.steps import status as status_step

__all__ = ["KustomizationReconciler", "Result", "SyncError", "Timing"]

log = logging.getLogger(__name__)

KIND = model.KIND


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of the pipeline: the Kustomization, its typed spec, its client, what it did."""

    body: dict[str, Any]
    spec: model.KustomizationSpec
    tenant: Kube  # impersonates the Kustomization's service account on the target cluster
    result: Result
    member: Member  # the target cluster

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.body['metadata']['name']}"

    @property
    def owner(self) -> dict[str, str]:
        """The labels that mark an object as applied by this Kustomization."""
        return prune.owner_labels(self.body["metadata"]["name"], self.namespace)


class KustomizationReconciler(Steps):
    """Applies Kustomizations' artifacts as their service accounts.

    Built like :class:`~landlord.sync.assembly.Steps` (its parts and what they
    answer between reconciles); this class adds the pipeline.
    """

    # -- entry point ---------------------------------------------------------

    def reconcile(self, key: str) -> Outcome | None:
        """Sync ``namespace/name``; None when the Kustomization is gone."""
        quiet = self.quiet(key)
        if quiet is not None:
            return quiet
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, KIND, name, namespace)
        if body is None:
            self.forget(key)
            return None
        if body["metadata"].get("deletionTimestamp"):
            self.drift.forget(key)  # being deleted: our own prune is not drift
            return self.finalizer.finalize(body)
        self.finalizer.ensure(body)
        if (body.get("spec") or {}).get("suspend"):
            return Outcome(skipped=True)
        requested = (body["metadata"].get("annotations") or {}).get(labels.REQUESTED_AT)
        try:
            timing = Timing.of(body.get("spec") or {}, self.bounds)
        except durations.OutOfBoundsError as error:
            return self._refuse_durations(key, body, error, requested)
        return self._sync(key, body, timing, requested)

    def _sync(
        self, key: str, body: dict[str, Any], timing: Timing, requested: str | None
    ) -> Outcome:
        """Admit, skip what is not due, run the pipeline (or recheck health), write status."""
        began = time.monotonic()
        # Names and cross-namespace edges are decided before anything is read with
        # the operator's identity: a refused sync learns nothing of what it names.
        spec = self.gatekeeper.admit(key, body)
        namespace = body["metadata"]["namespace"]
        found = None if isinstance(spec, SyncError) else source.read(self.kube, namespace, spec)
        revision = source.revision_of(found)
        fresh = self.scheduler.unchanged(
            key, body, revision, policy_version=self.gate.version
        ) and not self.drift.drifted(key)
        wait = self.scheduler.not_due(key, fresh)
        if wait is not None:
            return Outcome(skipped=True, requeue_after=wait)
        # A health wait of this very revision and spec: look at health again, apply nothing.
        recheck = fresh and bool((body.get("status") or {}).get(healthwait.DEADLINE))
        result = Result(revision=revision or "")
        self.scheduler.deciding(key, self.gate.version)
        drifted = self.drift.take(key)
        traceparent = self.origins.trusted(KIND, body)  # only one Landlord signed
        parent, link = self.origins.parent_and_link(key, traceparent)
        with telemetry.span(
            "sync.reconcile", {"landlord.kustomization": key}, parent=parent, link=link
        ):
            result.trace_id = telemetry.trace_id() or ""
            try:
                if isinstance(spec, SyncError):
                    raise spec  # a bad name or a denied edge: nothing of the target was read
                if recheck:
                    self._recheck_health(body, spec, result, timing)
                else:
                    self._run(body, spec, found, result, timing)
                outcome = Outcome(True, reasons.SUCCEEDED, f"Applied revision: {result.revision}")
            except SyncError as error:
                message = result.redactor.scrub(error.message)
                outcome = Outcome(False, error.reason, message, stalled=error.stalled)
            except Exception as error:
                if not result.redactor:
                    raise
                # On its way to the logs and the trace: only words without what this run
                # decrypted, and nothing chained (a chained error's words are its own).
                if isinstance(error, errors.LandlordError):
                    error.message = result.redactor.scrub(error.message)
                    error.args = (error.message,)
                    error.__cause__ = error.__context__ = None
                    error.__suppress_context__ = True
                    result.redactor.forget()
                    raise
                words = result.redactor.scrub(str(error))
                result.redactor.forget()
                raise errors.RetryableError(f"{type(error).__name__}: {words}") from None
        try:
            outcome = status_step.settled(outcome, result)
            if result.redactor:  # a health wait's summary quotes live objects and errors
                outcome = dataclasses.replace(
                    outcome, message=result.redactor.scrub(outcome.message)
                )
                result.unhealthy = [result.redactor.scrub(u) for u in result.unhealthy]
            if outcome.ready:
                self.origins.finished(key, traceparent)
            result.repairs(drifted)
            delay = self.scheduler.after(
                key, ready=outcome.ready, health_deadline=result.health_deadline, timing=timing
            )
            report.write(
                self.kube,
                body,
                outcome,
                result,
                requested,
                metrics=self.metrics,
                seconds=time.monotonic() - began,
            )
            # One line a reconcile that ran (`landlord logs --kind ks --name …` finds it).
            log.log(
                logging.INFO if outcome.ready else logging.WARNING,
                "reconciled %s: %s: %s",
                key,
                outcome.reason,
                outcome.message,
                extra={
                    "kustomization": key,
                    "revision": result.revision,
                    "reason": outcome.reason,
                    "ready": outcome.ready,
                    "seconds": round(time.monotonic() - began, 3),
                    **({"trace_id": result.trace_id} if result.trace_id else {}),
                },
            )
        finally:
            result.redactor.forget()
        return dataclasses.replace(outcome, requeue_after=None if outcome.stalled else delay)

    # -- the pipeline --------------------------------------------------------

    def _run(
        self,
        body: dict[str, Any],
        spec: model.KustomizationSpec,
        found: dict[str, Any] | None,
        result: Result,
        timing: Timing,
    ) -> None:
        """The pipeline, a named step a line; each raises a SyncError with its Ready reason."""
        namespace = body["metadata"]["namespace"]
        self.gatekeeper.check_budget(body)
        member = self.targets.resolve(namespace, spec)
        tenant = self.identity.client(namespace, spec.service_account_name, member)
        run = Run(body, spec, tenant, result, member)
        root = self._artifact(run, found)
        self._dependencies(run)
        documents = self._build(run, root)
        manifests = self._validate(run, documents)
        applied = Inventory.from_status((body.get("status") or {}).get("inventory"))
        known = {entry.id for entry in applied.entries} if applied is not None else set()
        result.changed = self.applier.apply(
            run.tenant,
            manifests,
            spec.force,
            known,
            before_writes=lambda: self._record_ahead(run, applied, manifests),
        )
        # From now on these are the desired state: watch events are compared with
        # them (before pruning, so our own deletions are not mistaken for drift).
        self.drift.record(run.key, manifests, run.member.name)
        inventory = self._prune(run, manifests)
        self._health(run, inventory.entries, timing)

    def _artifact(self, run: Run, found: dict[str, Any] | None) -> pathlib.Path:
        """The source's artifact, unpacked (a source elsewhere wakes this one when it moves)."""
        where = run.spec.source_namespace(run.namespace)
        elsewhere = f"{where}/{run.spec.source_ref.name}" if where != run.namespace else None
        self.index.uses(run.key, elsewhere)
        run.result.revision, root = source.artifact(self.store, run.namespace, run.spec, found)
        return root

    def _dependencies(self, run: Run) -> None:
        """DependencyNotReady until every dependsOn is Ready (those elsewhere wake this one)."""
        deps = run.spec.dependencies(run.namespace)
        self.index.depends(run.key, {f"{ns}/{n}" for ns, n in deps if ns != run.namespace})
        dependencies.check(self.kube, run.body, run.spec, self.gatekeeper.decide)

    def _build(self, run: Run, root: pathlib.Path) -> list[Document]:
        """The built, decrypted documents, within the object budget, with postBuild substituted."""
        # spec.decryption and postBuild.substituteFrom live beside the Kustomization:
        # read there, as the tenant.
        home = (
            run.tenant
            if run.member.local
            else self.identity.client(run.namespace, run.spec.service_account_name)
        )
        keys = decrypt.keys(home, run.namespace, run.spec.decryption)
        if keys is None:
            documents = build.build(root, run.spec, kustomize=self.kustomize, sandbox=self.sandbox)
        else:
            config = self.decrypting
            with decryption.decrypted(
                root,
                keys,
                config.sops,
                run.result.redactor,
                path=run.spec.path,
                max_files=config.max_files,
                scratch=config.scratch,
            ) as plain:
                documents = build.build(
                    plain, run.spec, kustomize=self.kustomize, sandbox=self.sandbox
                )
        decryption.check(
            documents,
            decrypting=keys is not None,
            redactor=run.result.redactor,
            require_encrypted=self.decrypting.require_encrypted,
        )
        self.gatekeeper.check_objects(run.namespace, len(documents))
        variables = build.variables(home, run.namespace, run.spec.post_build)
        return build.substituted(documents, variables)

    def _validate(self, run: Run, documents: list[Document]) -> list[dict[str, Any]]:
        """The manifests to apply: in allowed namespaces, of allowed kinds, labelled as ours."""
        scope = validate.Scope(
            default_namespace=run.namespace,
            allowed_namespaces=self.gatekeeper.allowed_namespaces(run.namespace),
            target_namespace=run.spec.target_namespace,
        )
        manifests = validation.manifests(run.tenant, documents, scope)
        self.gatekeeper.check_kinds(run.namespace, manifests)
        validation.own(manifests, run.owner)
        return manifests

    def _record_ahead(
        self, run: Run, applied: Inventory | None, manifests: list[dict[str, Any]]
    ) -> None:
        """Record the objects about to be made before making them (see ``inventory.ahead``)."""
        ahead = inventory_mod.ahead(
            applied, Inventory.of(run.member.identity, manifests, run.member.name)
        )
        if ahead is None:
            return
        # The body keeps the inventory it was read with: prune and the final status
        # compare with what the last finished reconcile recorded.
        kube_status.patch_if_changed(self.kube, run.body, {"inventory": ahead.to_status()})

    def _prune(self, run: Run, manifests: list[dict[str, Any]]) -> Inventory:
        """The new inventory; with ``spec.prune``, what the old one has and it lacks is deleted.

        Each entry is pruned through the client of the cluster it was recorded
        on: stale ones here through this target's, those on a cluster the
        Kustomization left through that cluster's (PruneBlocked, kept in
        ``pending``, while it cannot be reached or answers with another identity).
        """
        member = run.member
        new = Inventory.of(member.identity, manifests, member.name)
        run.result.inventory = new
        old = Inventory.from_status((run.body.get("status") or {}).get("inventory"))
        here, elsewhere = inventory_mod.leftovers(old, new)
        if not run.spec.prune:
            for group in elsewhere:  # left as they are, and said so once (no longer recorded)
                self.leftovers.orphaned(run.body, group, "spec.prune is false")
            return new
        kept: list[Entry] = []
        if here:
            run.result.pruned, kept = prune.prune(
                self.executor, run.tenant, here, run.owner, in_flight=self.in_flight
            )
        pending, blocked = self.leftovers.prune(run.body, run.spec, elsewhere, run.result, new)
        run.result.inventory = Inventory(
            new.cluster, tuple(sorted({*new.entries, *kept})), new.name, tuple(pending)
        )
        if kept:
            raise SyncError(reasons.PRUNE_FAILED, "could not delete " + ", ".join(map(str, kept)))
        if blocked:
            raise SyncError(
                reasons.PRUNE_BLOCKED,
                f"applied revision {run.result.revision} to cluster {member.name}; "
                + "; ".join(blocked),
            )
        return run.result.inventory

    def _health(self, run: Run, applied: Iterable[Entry], timing: Timing) -> None:
        """HealthCheckFailed, or a health wait, unless what it checks is healthy."""
        checks = health.targets(run.spec, run.namespace, applied)
        if checks:
            health.look(run.body, run.tenant, checks, run.result, timing.timeout)

    def _recheck_health(
        self, body: dict[str, Any], spec: model.KustomizationSpec, result: Result, timing: Timing
    ) -> None:
        """A later reconcile of a revision waiting for health: look again, apply nothing."""
        namespace = body["metadata"]["namespace"]
        member = self.targets.resolve(namespace, spec)
        tenant = self.identity.client(namespace, spec.service_account_name, member)
        inventory = Inventory.from_status((body.get("status") or {}).get("inventory"))
        self._health(
            Run(body, spec, tenant, result, member), inventory.entries if inventory else (), timing
        )

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
        report.write(
            self.kube, body, outcome, Result(revision=revision), requested, metrics=self.metrics
        )
        return outcome
