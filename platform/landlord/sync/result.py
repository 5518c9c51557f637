"""What one reconcile did (Result) and the durations it runs by (Timing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from landlord.api import kustomization as model
from landlord.gitops import durations
from landlord.gitops.redact import Redactor
from landlord.sync.drift import Drift
from landlord.sync.inventory import Entry, Inventory

DEFAULT_INTERVAL = durations.parse(model.DEFAULT_INTERVAL)
RETRY_INTERVAL_CAP = durations.parse(model.RETRY_INTERVAL_CAP)
DEFAULT_TIMEOUT = durations.parse(model.DEFAULT_TIMEOUT)


@dataclasses.dataclass
class Result:
    """What the pipeline did to the cluster."""

    revision: str = ""
    # The reconcile's trace (its span's), carried onto the Events it posts after the span.
    trace_id: str = ""
    inventory: Inventory | None = None
    changed: list[Entry] = dataclasses.field(default_factory=list)
    pruned: list[Entry] = dataclasses.field(default_factory=list)
    healthy: bool | None = None
    repaired: list[Drift] = dataclasses.field(default_factory=list)
    # A health wait in progress: its deadline (RFC 3339) and what is not healthy yet.
    health_deadline: str | None = None
    unhealthy: list[str] = dataclasses.field(default_factory=list)
    # The values this run decrypted: every message it writes is scrubbed of them.
    redactor: Redactor = dataclasses.field(default_factory=Redactor)

    def repairs(self, drifted: list[Drift]) -> None:
        """Of the drift seen before this run, what it restored (applied again)."""
        restored = {entry.id for entry in self.changed}
        self.repaired = [d for d in drifted if d.entry.id in restored]


@dataclasses.dataclass(frozen=True)
class Timing:
    """A Kustomization's durations, each within the platform's bounds (seconds)."""

    interval: float
    retry: float
    timeout: float

    @classmethod
    def of(
        cls, spec: model.KustomizationSpec | Mapping[str, str], bounds: durations.Bounds
    ) -> Timing:
        """The spec's durations; OutOfBoundsError names the first one the platform refuses."""
        fields = spec.durations() if isinstance(spec, model.KustomizationSpec) else spec
        interval = durations.interval(fields, "interval", DEFAULT_INTERVAL, bounds)
        retry = durations.interval(
            fields, "retryInterval", min(interval, RETRY_INTERVAL_CAP), bounds
        )
        return cls(interval, retry, durations.timeout(fields, "timeout", DEFAULT_TIMEOUT, bounds))
