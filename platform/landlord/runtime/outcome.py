"""What one reconcile of a source or a sync found, for status and for the work queue."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Ready or not, why, and when to look again; ``skipped``: nothing was due."""

    ready: bool = False
    reason: str = ""
    message: str = ""
    stalled: bool = False
    requeue_after: float | None = None
    skipped: bool = False
    # Work is under way (an offboarding waiting for namespaces): Reconciling=True.
    reconciling: bool = False
