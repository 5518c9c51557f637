"""Deleting a Kustomization: what its ``deletionPolicy`` says happens to what it applied.

Flux's meanings: MirrorPrune (the default) prunes the inventory when
``spec.prune`` is true; Delete prunes it whatever ``prune`` says;
WaitForTermination prunes it and then holds the finalizer until the objects
are gone (looked at again as requeues, no worker held), at most ``spec.timeout``
after the deletion, then gives up with a Warning Event; Orphan keeps
everything. An inventory recorded for another cluster is never pruned through
this one. In a terminating namespace everything goes anyway: nothing to prune.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
from collections.abc import Callable
from typing import Any

from landlord.api import conditions, labels, reasons
from landlord.api import kustomization as model
from landlord.gitops import durations
from landlord.kube import Kube, events, finalizers
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome
from landlord.sync import healthwait
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Inventory
from landlord.sync.result import DEFAULT_TIMEOUT, Timing
from landlord.sync.steps import gatekeeper, prune
from landlord.sync.steps.identity import Identity

log = logging.getLogger(__name__)

# Seconds between two attempts when a prune or the identity failed.
RETRY = 5.0
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def termination_left(
    deleted_at: str, timeout: float, *, now: datetime.datetime | None = None
) -> float:
    """Seconds WaitForTermination may still wait, ``timeout`` after ``deleted_at`` (≤ 0: over)."""
    try:
        moment = datetime.datetime.strptime(deleted_at, _FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0.0
    current = now or datetime.datetime.now(datetime.UTC)
    return (moment + datetime.timedelta(seconds=timeout) - current).total_seconds()


class Finalizer:
    """Adds the finalizer to live Kustomizations and carries out their deletion policy."""

    def __init__(
        self,
        kube: Kube,
        *,
        identity: Identity,
        executor: concurrent.futures.Executor,
        cluster: Callable[[], str],
        bounds: durations.Bounds,
    ) -> None:
        self.kube = kube
        self.identity = identity
        self.executor = executor
        self.cluster = cluster
        self.bounds = bounds

    def ensure(self, body: dict[str, Any]) -> None:
        """Add Landlord's finalizer unless it is there."""
        finalizers.add(self.kube, body, labels.FINALIZER)

    def finalize(self, body: dict[str, Any]) -> Outcome | None:
        """Carry out the deletion policy; None once the finalizer is released."""
        metadata = body["metadata"]
        if labels.FINALIZER not in (metadata.get("finalizers") or []):
            return None
        try:
            spec: model.KustomizationSpec | None = gatekeeper.parse(body)
        except SyncError as error:
            log.warning(
                "%s/%s: %s; nothing is pruned", metadata["namespace"], metadata["name"], error
            )
            spec = None
        inventory = Inventory.from_status((body.get("status") or {}).get("inventory"))
        namespace = self.kube.get("v1", "Namespace", metadata["namespace"]) or {}
        # In a terminating namespace everything goes anyway (and the tenant's
        # service account may already be gone): nothing to prune.
        terminating = bool(namespace.get("metadata", {}).get("deletionTimestamp"))
        if (
            spec is not None
            and inventory
            and inventory.entries
            and not terminating
            and spec.prunes_on_deletion
        ):
            waiting = self._prune(body, spec, inventory)
            if waiting is not None:
                return waiting
        finalizers.remove(self.kube, body, labels.FINALIZER)
        return None

    def _prune(
        self, body: dict[str, Any], spec: model.KustomizationSpec, inventory: Inventory
    ) -> Outcome | None:
        """Prune the inventory; an Outcome while the finalizer must stay."""
        metadata = body["metadata"]
        current = self.cluster()
        if inventory.cluster != current:
            message = (
                f"the inventory was recorded for cluster {inventory.cluster or '(unknown)'}, not "
                f"this one ({current}): nothing was pruned through this cluster"
            )
            log.warning("%s/%s: %s", metadata["namespace"], metadata["name"], message)
            events.record(
                self.kube,
                body,
                reason=reasons.INVENTORY_OF_OTHER_CLUSTER,
                message=message,
                warning=True,
            )
            return None
        try:
            tenant = self.identity.client(metadata["namespace"], spec.service_account_name)
        except SyncError as error:
            return Outcome(False, error.reason, error.message, requeue_after=RETRY)
        owner = prune.owner_labels(metadata["name"], metadata["namespace"])
        _, kept = prune.prune(self.executor, tenant, inventory.entries, owner)
        if kept:
            return Outcome(
                False,
                reasons.PRUNE_FAILED,
                "could not delete " + ", ".join(map(str, kept)),
                requeue_after=RETRY,
            )
        if spec.effective_deletion_policy != model.WAIT_FOR_TERMINATION:
            return None
        left = prune.remaining(tenant, inventory.entries, owner)
        if not left:
            return None
        try:
            timeout = Timing.of(spec, self.bounds).timeout
        except durations.OutOfBoundsError:
            timeout = DEFAULT_TIMEOUT
        seconds = termination_left(metadata["deletionTimestamp"], timeout)
        named = healthwait.summary([str(entry) for entry in left])
        if seconds <= 0:
            events.record(
                self.kube,
                body,
                reason=reasons.TERMINATION_TIMEOUT,
                message=f"still present {durations.format_seconds(timeout)} after deletion "
                f"(spec.timeout): {named}; the finalizer is removed, they are left as they are",
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
