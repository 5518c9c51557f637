"""Deleting a Kustomization: what its ``deletionPolicy`` says happens to what it applied.

Flux's meanings: MirrorPrune (the default) prunes the inventory when
``spec.prune`` is true; Delete prunes it whatever ``prune`` says;
WaitForTermination prunes it and then holds the finalizer until the objects
are gone (looked at again as requeues, no worker held); Orphan keeps
everything. Each cluster's entries are pruned through that cluster's own
connection, as the tenant's service account there (``landlord.sync.steps.elsewhere``);
never through another. In a terminating namespace (of the operator's own
cluster) nothing is pruned on it: everything there goes anyway.

Every wait is bounded: ``spec.timeout`` (within the platform's bounds, 5m when
unset) after ``metadata.deletionTimestamp`` the finalizer is released with a
Warning Event naming what is left and why, whether the objects are still
terminating, the reconciler's service account is gone, or the tenant may no
longer delete them. The prune never falls back to the operator's identity.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
from typing import Any

from landlord.api import conditions, labels, reasons
from landlord.gitops import durations
from landlord.kube import Kube, events, finalizers
from landlord.kube import status as kube_status
from landlord.kube.fleet import Member
from landlord.runtime import stopwatch
from landlord.runtime.outcome import Outcome
from landlord.sync import deletion as deletion_mod
from landlord.sync import healthwait
from landlord.sync.deletion import Deletion
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Inventory
from landlord.sync.steps import elsewhere, prune
from landlord.sync.steps.identity import Identity

log = logging.getLogger(__name__)

# Seconds between two attempts when a prune or the identity failed.
RETRY = 5.0
# A reconcile's tasks in the shared executor at once, unless the caller says.
IN_FLIGHT = 4
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def termination_left(
    deleted_at: str, timeout: float, *, watch: stopwatch.Stopwatch | None = None
) -> float:
    """Seconds the finalizer may still wait, ``timeout`` after ``deleted_at`` (≤ 0: over).

    Counted on the monotonic clock once the deletion is first seen
    (:mod:`landlord.runtime.stopwatch`): a stepped clock ends no wait early.
    """
    try:
        moment = datetime.datetime.strptime(deleted_at, _FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0.0
    return (watch or stopwatch.DEFAULT).left(moment, timeout)


class Finalizer:
    """Adds the finalizer to live Kustomizations and carries out their deletion policy."""

    def __init__(
        self,
        kube: Kube,
        *,
        identity: Identity,
        leftovers: elsewhere.Leftovers,
        executor: concurrent.futures.Executor,
        bounds: durations.Bounds,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self.kube = kube
        self.identity = identity
        self.executor = executor
        self.leftovers = leftovers
        self.bounds = bounds
        self.in_flight = in_flight

    def ensure(self, body: dict[str, Any]) -> None:
        """Add Landlord's finalizer unless it is there."""
        finalizers.add(self.kube, body, labels.FINALIZER)

    def finalize(self, body: dict[str, Any]) -> Outcome | None:
        """Carry out the deletion policy; None once the finalizer is released."""
        metadata = body["metadata"]
        if labels.FINALIZER not in (metadata.get("finalizers") or []):
            return None
        deletion = deletion_mod.of(body, self.bounds)
        if deletion.refused is not None:
            self._refused_spec(body, deletion)
        inventory = Inventory.from_status((body.get("status") or {}).get("inventory"))
        namespace = self.kube.get("v1", "Namespace", metadata["namespace"]) or {}
        # In a terminating namespace everything goes anyway (and the tenant's
        # service account may already be gone): nothing to prune.
        terminating = bool(namespace.get("metadata", {}).get("deletionTimestamp"))
        if inventory and inventory.size() and deletion.prunes:
            waiting = self._prune(body, deletion, inventory, terminating=terminating)
            if waiting is not None:
                return waiting
        finalizers.remove(self.kube, body, labels.FINALIZER)
        return None

    def _prune(
        self, body: dict[str, Any], deletion: Deletion, inventory: Inventory, *, terminating: bool
    ) -> Outcome | None:
        """Prune every cluster's entries there; an Outcome while the finalizer must stay."""
        metadata = body["metadata"]
        seconds = termination_left(metadata["deletionTimestamp"], deletion.timeout)
        owner = prune.owner_labels(metadata["name"], metadata["namespace"])
        failed: list[str] = []
        reason, why = reasons.PRUNE_FAILED, ""
        gone: list[tuple[Kube, Inventory]] = []  # pruned: waited for with WaitForTermination
        for group in inventory.groups():
            if not group.entries:
                continue
            reached = self.leftovers.reach(group)
            if isinstance(reached, elsewhere.Unusable):
                if reached.orphan:
                    self.leftovers.orphaned(body, group, reached.message)
                else:
                    failed += [str(entry) for entry in group.entries]
                    reason, why = reasons.PRUNE_BLOCKED, reached.message
                continue
            if reached.local and terminating:
                continue  # the namespace takes everything with it
            try:
                client = (
                    self._tenant(metadata["namespace"], deletion)
                    if reached.local
                    else self._remote(metadata["namespace"], deletion, reached)
                )
            except SyncError as error:
                failed += [str(entry) for entry in group.entries]
                reason, why = error.reason, error.message
                continue
            if client is None:  # the account's namespace is gone there, with what it held
                survived = self.leftovers.surviving(reached, group)
                if survived is not None:
                    failed += [str(entry) for entry in survived.entries]
                    reason = reasons.PRUNE_BLOCKED
                    why = f"the service account's namespace is gone on cluster {reached.name}"
                continue
            _, kept = prune.prune(
                self.executor, client, group.entries, owner, in_flight=self.in_flight
            )
            if kept:
                failed += [str(entry) for entry in kept]
                why = "could not delete " + ", ".join(map(str, kept))
            gone.append((client, group))
        if failed:
            return self._retry(body, deletion, seconds, reason, why, failed)
        if not deletion.waits:
            return None
        left = [str(e) for client, g in gone for e in prune.remaining(client, g.entries, owner)]
        if not left:
            return None
        named = healthwait.summary(left)
        if seconds <= 0:
            events.record(
                self.kube,
                body,
                reason=reasons.TERMINATION_TIMEOUT,
                message=f"still present {durations.format_seconds(deletion.timeout)} after "
                f"deletion (spec.timeout): {named}; the finalizer is removed, they are left "
                "as they are",
                warning=True,
            )
            return None
        message = f"waiting up to {durations.format_seconds(seconds)} for: {named}"
        self._waiting(body, message)
        return Outcome(
            False,
            reasons.WAITING_FOR_TERMINATION,
            message,
            requeue_after=max(healthwait.MIN_POLL, min(healthwait.POLL, seconds)),
        )

    def _remote(self, namespace: str, deletion: Deletion, member: Member) -> Kube | None:
        """The tenant's client on a registered cluster (None: its namespace there is gone)."""
        if deletion.bad_account:
            self._tenant(namespace, deletion)  # raises: the account is not a valid name
        found = self.leftovers.client(namespace, deletion.service_account_name, member)
        if isinstance(found, elsewhere.Unusable):
            raise SyncError(reasons.PRUNE_BLOCKED, found.message)
        return found

    def _tenant(self, namespace: str, deletion: Deletion) -> Kube:
        """The client of the Kustomization's service account (never the operator's own)."""
        if deletion.bad_account:
            raise SyncError(
                reasons.INVALID_SPEC,
                "spec.serviceAccountName is not a valid name; the prune runs only as that account",
            )
        return self.identity.client(namespace, deletion.service_account_name)

    def _retry(
        self,
        body: dict[str, Any],
        deletion: Deletion,
        seconds: float,
        reason: str,
        message: str,
        left: list[str],
    ) -> Outcome | None:
        """Try again in a while; past the deadline, release the finalizer with a Warning Event."""
        if seconds > 0:
            return Outcome(False, reason, message, requeue_after=min(RETRY, max(seconds, 0.5)))
        events.record(
            self.kube,
            body,
            reason=reasons.PRUNE_ABANDONED,
            message=f"not pruned {durations.format_seconds(deletion.timeout)} after deletion "
            f"(spec.timeout): {healthwait.summary(left)}: {reason}: {message}; the finalizer "
            "is removed, they are left as they are",
            warning=True,
        )
        return None

    def _refused_spec(self, body: dict[str, Any], deletion: Deletion) -> None:
        """The model refused the spec: say so, and that its raw fields decide the deletion."""
        metadata = body["metadata"]
        message = (
            f"{deletion.refused}; deletion follows the raw spec: deletionPolicy "
            f"{deletion.policy}, {'prune' if deletion.prunes else 'no prune'}"
        )
        log.warning("%s/%s: %s", metadata["namespace"], metadata["name"], message)
        events.record(self.kube, body, reason=reasons.INVALID_SPEC, message=message, warning=True)

    def _waiting(self, body: dict[str, Any], message: str) -> None:
        """Ready False (WaitingForTermination) and one Event when the wait starts."""
        existing = body.get("status") or {}
        ready = conditions.get(existing.get("conditions") or [], conditions.READY) or {}
        if ready.get("reason") != reasons.WAITING_FOR_TERMINATION:
            events.record(self.kube, body, reason=reasons.WAITING_FOR_TERMINATION, message=message)
        kube_status.patch_if_changed(
            self.kube,
            body,
            {
                "conditions": conditions.summary(
                    ready=False,
                    reason=reasons.WAITING_FOR_TERMINATION,
                    message=message.partition(" for: ")[2] or message,
                    stalled=False,
                    reconciling=True,
                    generation=int(body["metadata"].get("generation") or 1),
                    existing=existing.get("conditions") or [],
                )
            },
        )
