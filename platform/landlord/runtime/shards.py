"""Sharding: which operator deployment handles an object, and how one hands it to another.

Like Flux's ``sharding.fluxcd.io/key``: a Tenant labelled ``landlord.dev/shard:
NAME`` is handled by the operator started with ``LANDLORD_SHARD__NAME=NAME``;
an unlabelled one by the default shard (no name). The tenant operator copies
the label onto everything the Tenant owns, its namespaces among them, and a
GitRepository or Kustomization belongs to the shard of its namespace — so a
tenant cannot move its own objects by labelling them, and the platform
namespace (never labelled) stays on the default shard.

A Kustomization records the shard that applies it in ``status.shard``. When a
Tenant moves, the old shard finishes what it is doing, then clears the field
(release); the new shard starts once it is cleared, or once one lease duration
has passed since it saw the move (the old shard is gone or never noticed): no
two shards apply the same Kustomization at once, and the gap is bounded.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from landlord.api import labels

DEFAULT = "default"  # how the unnamed shard signs status.shard


class Handover(enum.Enum):
    """What a shard does with a Kustomization it owns by label."""

    PROCEED = "proceed"  # it is ours already
    CLAIM = "claim"  # nobody holds it: record ourselves, then proceed
    WAIT = "wait"  # another shard still holds it: look again shortly
    TAKE = "take"  # the holder did not let go within a lease duration: take it


@dataclasses.dataclass(frozen=True)
class Shard:
    """One operator deployment's share: ``name`` "" is the default shard."""

    name: str = ""

    @property
    def signature(self) -> str:
        """What this shard writes into ``status.shard``."""
        return self.name or DEFAULT

    def owns(self, object_labels: Mapping[str, str] | None) -> bool:
        """Whether an object (a Tenant, or a namespace) with these labels is this shard's."""
        return (object_labels or {}).get(labels.SHARD, "") == self.name

    def lease(self, base: str) -> str:
        """The leader-election Lease of this shard: one per shard."""
        return f"{base}-{self.name}" if self.name else base

    def handover(self, holder: str | None, waited: float, lease_duration: float) -> Handover:
        """The step for a Kustomization ``holder`` (its status.shard) holds.

        ``waited``: seconds since this shard first saw it as its own while another
        shard held it.
        """
        if holder == self.signature:
            return Handover.PROCEED
        if not holder:
            return Handover.CLAIM
        if waited < lease_duration:
            return Handover.WAIT
        return Handover.TAKE
