"""What deleting a Kustomization does, read from its spec (or, failing that, its raw fields).

A spec the model refuses (an object stored under an older schema, say) must
not release the finalizer without pruning: its ``prune``, ``deletionPolicy``,
``serviceAccountName`` and ``timeout`` are read from the raw object instead,
each checked on its own, and the caller says so in a Warning Event.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

from landlord.api import kustomization as model
from landlord.api import names
from landlord.gitops import durations
from landlord.sync.failure import SyncError
from landlord.sync.result import DEFAULT_TIMEOUT
from landlord.sync.steps import gatekeeper

POLICIES: tuple[str, ...] = typing.get_args(model.DeletionPolicy)


@dataclasses.dataclass(frozen=True)
class Deletion:
    """The deletion policy, whether it prunes, as whom, and how long the finalizer may wait."""

    policy: str
    prunes: bool
    service_account_name: str | None
    timeout: float  # seconds after metadata.deletionTimestamp
    refused: str | None = None  # why the model refused the spec (the raw fields were read)
    bad_account: bool = False  # serviceAccountName is set but not a name

    @property
    def waits(self) -> bool:
        """WaitForTermination: hold the finalizer until the pruned objects are gone."""
        return self.policy == model.WAIT_FOR_TERMINATION


def timeout_of(fields: Mapping[str, Any], bounds: durations.Bounds) -> float:
    """``timeout`` within the platform's bounds; the default when unset, refused or malformed.

    Only the timeout: an interval out of bounds must not hide a valid timeout.
    """
    try:
        return durations.timeout(fields, "timeout", DEFAULT_TIMEOUT, bounds)
    except (durations.OutOfBoundsError, ValueError, TypeError):
        return DEFAULT_TIMEOUT


def of(body: dict[str, Any], bounds: durations.Bounds) -> Deletion:
    """The Kustomization's deletion, from its typed spec or, if refused, its raw fields."""
    try:
        spec = gatekeeper.parse(body)
    except SyncError as error:
        return _raw(body.get("spec") or {}, bounds, error.message)
    return Deletion(
        policy=spec.effective_deletion_policy,
        prunes=spec.prunes_on_deletion,
        service_account_name=spec.service_account_name,
        timeout=timeout_of(spec.durations(), bounds),
    )


def _raw(spec: Mapping[str, Any], bounds: durations.Bounds, refused: str) -> Deletion:
    """Each field checked on its own; a malformed one counts as unset (its default)."""
    policy = spec.get("deletionPolicy")
    policy = policy if policy in POLICIES else model.MIRROR_PRUNE
    prune = spec.get("prune")
    prune = prune if isinstance(prune, bool) else True
    account = spec.get("serviceAccountName")
    valid = account is None or names.is_subdomain(account)
    timeout = spec.get("timeout")
    return Deletion(
        policy=policy,
        prunes=policy != model.ORPHAN and (prune if policy == model.MIRROR_PRUNE else True),
        service_account_name=account if valid and account else None,
        timeout=timeout_of({"timeout": timeout} if isinstance(timeout, str) else {}, bounds),
        refused=refused,
        bad_account=not valid,
    )
