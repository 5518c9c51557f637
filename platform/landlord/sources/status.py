"""A source's status: conditions and the artifact, its Events, and the new-revision signal.

A new artifact is announced (``on_revision``) only after it is in status, so
that a Kustomization woken by it reads it there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from landlord.api import conditions, reasons
from landlord.kube import Kube, events
from landlord.kube import status as kube_status
from landlord.runtime.outcome import Outcome

# Called with (namespace, name, revision) once a new artifact is in status.
OnRevision = Callable[[str, str, str], None]


def render(
    body: dict[str, Any],
    outcome: Outcome,
    artifact: dict[str, Any] | None,
    requested: str | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``status`` to write for ``outcome`` (transition times kept where unchanged).

    ``extra``: fields of the kind's own (an OCIRepository's normalised ``url``).
    """
    existing = body.get("status") or {}
    generation = body["metadata"].get("generation")
    new: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions.of(
            outcome, generation=int(generation or 1), existing=existing.get("conditions") or []
        ),
    }
    if artifact is not None:
        new["artifact"] = artifact
    if requested:
        new["lastHandledReconcileAt"] = requested
    new.update(extra or {})
    return new


def write(
    kube: Kube,
    body: dict[str, Any],
    outcome: Outcome,
    artifact: dict[str, Any] | None,
    requested: str | None,
    on_revision: OnRevision | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write the status, record an Event on a new artifact or a new failure, announce a revision."""
    old_revision = ((body.get("status") or {}).get("artifact") or {}).get("revision")
    new_revision = outcome.ready and artifact is not None and artifact["revision"] != old_revision
    if new_revision and artifact is not None:
        events.record(
            kube,
            body,
            reason=reasons.NEW_ARTIFACT,
            message=f"stored artifact for revision '{artifact['revision']}'",
        )
    if not outcome.ready:
        kube_status.warn_on_change(kube, body, outcome.reason, outcome.message)
    kube_status.patch_if_changed(kube, body, render(body, outcome, artifact, requested, extra))
    if new_revision and on_revision is not None and artifact is not None:
        metadata = body["metadata"]
        on_revision(metadata["namespace"], metadata["name"], artifact["revision"])
