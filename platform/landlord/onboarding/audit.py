"""``landlord audit tenant NAME``: one timeline from Git history, status and Events.

Pure: the CLI gathers the commits, the Tenant, its sync objects and the Events;
this module orders them and says what each one means.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from typing import Any

from landlord.api import conditions, labels
from landlord.onboarding.repository import CommitLike


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    time: datetime.datetime
    source: str  # git, cluster, event
    who: str
    what: str
    trace_id: str = ""


def _when(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def timeline(
    *,
    commits: Iterable[CommitLike],
    tenant: dict[str, Any] | None,
    syncs: Iterable[dict[str, Any]],
    events: Iterable[dict[str, Any]],
) -> list[Entry]:
    """Everything known about a tenant's changes, oldest first."""
    entries: list[Entry] = []
    for commit in commits:
        when = _when(commit.time)
        if when is None:
            continue
        trailers = commit.trailers
        asked = trailers.get("Landlord-Requested-By")
        request = trailers.get("Landlord-Request-Id")
        detail = f" (API request {request})" if request else " (committed directly)"
        entries.append(
            Entry(
                when,
                "git",
                asked or f"{commit.author_name} <{commit.author_email}>",
                f"commit {commit.sha[:12]}: {commit.subject}{detail}",
                trailers.get("Landlord-Trace-Id", ""),
            )
        )
    if tenant is not None:
        metadata = tenant.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        created = _when(metadata.get("creationTimestamp"))
        if created is not None:
            entries.append(Entry(created, "cluster", "platform sync", "Tenant created"))
        for condition in (tenant.get("status") or {}).get("conditions") or []:
            when = _when(condition.get("lastTransitionTime"))
            if when is None or condition.get("type") != conditions.READY:
                continue
            entries.append(
                Entry(
                    when,
                    "cluster",
                    "tenant operator",
                    f"Tenant Ready={condition.get('status')} ({condition.get('reason')}): "
                    f"{condition.get('message') or ''}".rstrip(": "),
                    _trace_of(annotations),
                )
            )
    for sync in syncs:
        status = sync.get("status") or {}
        for condition in status.get("conditions") or []:
            when = _when(condition.get("lastTransitionTime"))
            if when is None or condition.get("type") != conditions.READY:
                continue
            kind = sync.get("kind", "object")
            name = (sync.get("metadata") or {}).get("name")
            entries.append(
                Entry(
                    when,
                    "cluster",
                    "sync",
                    f"{kind} {name} Ready={condition.get('status')}: {condition.get('message')}",
                )
            )
    for event in events:
        when = _when(event.get("lastTimestamp") or event.get("eventTime")) or _when(
            (event.get("metadata") or {}).get("creationTimestamp")
        )
        if when is None:
            continue
        involved = event.get("involvedObject") or {}
        count = int(event.get("count") or 1)
        entries.append(
            Entry(
                when,
                "event",
                (event.get("source") or {}).get("component") or "",
                f"{involved.get('kind')} {involved.get('name')}: {event.get('reason')} — "
                f"{event.get('message')}" + (f" (×{count})" if count > 1 else ""),
            )
        )
    return sorted(entries, key=lambda entry: entry.time)


def _trace_of(annotations: dict[str, str]) -> str:
    parent = annotations.get(labels.TRACEPARENT, "")
    parts = parent.split("-")
    return parts[1] if len(parts) == 4 else ""
