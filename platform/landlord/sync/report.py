"""Writing what one reconcile found: the rendered status, its Events and its metrics.

The rendering is pure (:func:`landlord.sync.steps.status.render`); this is its
one writer, so that the pipeline and a refusal before it report alike.
"""

from __future__ import annotations

from typing import Any

from landlord import telemetry
from landlord.api import conditions, labels, reasons
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome
from landlord.sync.result import Result
from landlord.sync.steps import status as status_step


def write(
    kube: Kube,
    body: dict[str, Any],
    outcome: Outcome,
    result: Result,
    requested: str | None,
    *,
    metrics: telemetry.Metrics | None,
    seconds: float | None = None,
) -> None:
    """Post the Events, count repaired drift, and patch the status when it changed.

    ``seconds``: how long the reconcile took, observed by its result.
    """
    rendered = status_step.render(body, outcome, result, requested, now=conditions.now())
    about = {labels.REVISION: result.revision} if result.revision else {}
    if result.trace_id:  # posted after the reconcile's span ended: name its trace
        about[labels.TRACE_ID] = result.trace_id
    for event in rendered.events:
        events.record(
            kube,
            body,
            reason=event.reason,
            message=event.message,
            warning=event.warning,
            annotations=about or None,
        )
    if metrics is not None:
        for drift in result.repaired:
            metrics.sync_drift_repairs_total.labels(
                drift.entry.kind, status_step.manager_label(drift)
            ).inc()
        if seconds is not None:
            metrics.sync_reconcile_seconds.labels(result=result_label(outcome)).observe(seconds)
    kube_status.patch_if_changed(kube, body, rendered.status)


def result_label(outcome: Outcome) -> str:
    """The ``result`` label of the sync reconcile metric: ready, progressing, failed, stalled."""
    if outcome.ready:
        return "ready"
    if outcome.stalled:
        return "stalled"
    return "progressing" if outcome.reason == reasons.PROGRESSING else "failed"
